// tools/io/npy: round trips, the dtypes and header versions NumPy writes, and one test per error message.
#include "tools/io/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "dcnjit/error.h"
#include "tests/support/run_with_deadline.h"
#include "tests/support/scratch_directory.h"

namespace dcnjit::io {
namespace {

using ::testing::HasSubstr;
using dcnjit::testing::ScratchDirectory;
using ::testing::StartsWith;

// A .npy file assembled by hand from the format specification, independent of format_npy():
// magic, version, little-endian header length, the header text padded with spaces to a 64-byte
// boundary and ended by '\n', then the payload.
std::string npy_file(const std::string& dict, const std::string& payload, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += char(major);
  bytes += char(0);
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < length_bytes; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
  return bytes + header + payload;
}

template <typename T>
std::string payload_of(std::initializer_list<T> values) {
  std::string bytes;
  for (T v : values) bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  return bytes;
}

std::string f4_dict(const std::string& shape) {
  return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
}

// Expects parse_npy to throw IoError whose message starts with the file name and contains `what`.
void expect_io_error(const std::string& bytes, const std::string& what) {
  try {
    parse_npy(bytes, "x.npy");
    ADD_FAILURE() << "no error; expected: " << what;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_THAT(e.what(), StartsWith("x.npy: "));
    EXPECT_THAT(e.what(), HasSubstr(what));
  }
}

TEST(NpyRoundTrip, Float32FileKeepsShapeAndEveryBitPattern) {
  ScratchDirectory dir;
  const std::vector<float> values = {0.0f, -0.0f, 1.5f, -3.25e-38f, std::numeric_limits<float>::infinity(),
                                     std::numeric_limits<float>::quiet_NaN(), 1e-45f, 3.4e38f};
  write_npy(dir / "a.npy", values, {2, 1, 4});
  const HostArray back = read_npy(dir / "a.npy");
  EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 1, 4}));
  ASSERT_EQ(back.data.size(), values.size());
  EXPECT_EQ(std::memcmp(back.data.data(), values.data(), values.size() * 4), 0);
}

TEST(NpyRoundTrip, ZeroDimensionalAndOneDimensionalShapes) {
  ScratchDirectory dir;
  write_npy(dir / "scalar.npy", std::vector<float>{7.0f}, {});
  write_npy(dir / "vector.npy", std::vector<float>{1, 2, 3}, {3});
  write_npy(dir / "empty.npy", std::vector<float>{}, {0, 5});
  EXPECT_EQ(read_npy(dir / "scalar.npy").shape, std::vector<int64_t>{});
  EXPECT_EQ(read_npy(dir / "scalar.npy").data, std::vector<float>{7.0f});
  EXPECT_EQ(read_npy(dir / "vector.npy").data, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(read_npy(dir / "empty.npy").shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(read_npy(dir / "empty.npy").data.empty());
}

TEST(NpyWrite, HeaderFollowsTheSpecification) {
  const std::string bytes = format_npy(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}, "a.npy");
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_length = uint8_t(bytes[8]) | (std::size_t(uint8_t(bytes[9])) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u) << "data must start on a 64-byte boundary";
  const std::string header = bytes.substr(10, header_length);
  EXPECT_THAT(header, StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(bytes.size(), 10 + header_length + 6 * 4);
  EXPECT_THAT(format_npy(std::vector<float>{1, 2, 3}, {3}, "a.npy"), HasSubstr("'shape': (3,), }"));
}

TEST(NpyRead, Float16ConvertsExactly) {
  // 1.0, -2.0, 65504 (largest half), 2^-24 (smallest subnormal), +inf.
  const auto bytes = npy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (5,), }",
                              payload_of<uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00}));
  const HostArray a = parse_npy(bytes, "h.npy");
  ASSERT_EQ(a.data.size(), 5u);
  EXPECT_EQ(a.data[0], 1.0f);
  EXPECT_EQ(a.data[1], -2.0f);
  EXPECT_EQ(a.data[2], 65504.0f);
  EXPECT_EQ(a.data[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(a.data[4], std::numeric_limits<float>::infinity());
}

TEST(NpyRead, Float64RoundsToNearestFloat32) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto bytes = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                              payload_of<double>({0.1, -3.4028234e38, 1.0 + 1e-12, inf, -inf, std::nan("")}));
  const HostArray a = parse_npy(bytes, "d.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data[0], 0.1f);
  EXPECT_EQ(a.data[1], -std::numeric_limits<float>::max());  // rounds down to the largest float, not to -Inf
  EXPECT_EQ(a.data[2], 1.0f);
  // Non-finite values stay what they are (docs/semantics.md says what they do to the results).
  EXPECT_EQ(a.data[3], std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.data[4], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(a.data[5]));
}

// A finite float64 value that float32 cannot hold would silently become Inf: an error naming the element.
TEST(NpyErrors, Float64BeyondFloat32Range) {
  expect_io_error(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                           payload_of<double>({1.0, 2.0, -1e300, 4.0})),
                  "element [1, 0] is -1e+300, beyond float32's range");
  expect_io_error(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", payload_of<double>({3.5e38})),
                  "element [0] is 3.5e+38");
}

TEST(NpyRead, Version2HeaderAndKeysInAnyOrder) {
  const auto bytes = npy_file("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
                              payload_of<float>({4.0f, 5.0f}), /*major=*/2);
  EXPECT_EQ(parse_npy(bytes, "v2.npy").data, (std::vector<float>{4.0f, 5.0f}));
}

TEST(NpyRead, FortranOrderFlagFalseWithOneDimensionIsFine) {
  const auto bytes = npy_file(f4_dict("(1,)"), payload_of<float>({3.0f}));
  EXPECT_EQ(parse_npy(bytes, "x.npy").data, std::vector<float>{3.0f});
}

TEST(NpyErrors, BadMagic) { expect_io_error("PK\x03\x04 not numpy at all", "not a .npy file"); }

TEST(NpyErrors, EmptyFile) { expect_io_error("", "not a .npy file"); }

TEST(NpyErrors, UnsupportedVersion) {
  std::string bytes = npy_file(f4_dict("(1,)"), payload_of<float>({1.0f}));
  bytes[6] = 3;
  expect_io_error(bytes, ".npy format version 3.0 is not supported (expected 1.0 or 2.0)");
}

TEST(NpyErrors, IntegerDtype) {
  expect_io_error(npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", payload_of<int>({1})),
                  "dtype '<i4' is not supported (expected <f4, <f2 or <f8)");
}

TEST(NpyErrors, BigEndian) {
  expect_io_error(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", payload_of<int>({1})),
                  "dtype '>f4' is big-endian");
}

TEST(NpyErrors, FortranOrder) {
  expect_io_error(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                           payload_of<float>({1, 2, 3, 4})),
                  "Fortran-order arrays are not supported");
}

TEST(NpyErrors, TruncatedData) {
  expect_io_error(npy_file(f4_dict("(2, 3)"), payload_of<float>({1, 2, 3, 4, 5})),
                  "data truncated: shape [2, 3] of <f4 needs 24 bytes, the file has 20 after the header");
}

TEST(NpyErrors, TrailingBytes) {
  expect_io_error(npy_file(f4_dict("(2,)"), payload_of<float>({1, 2, 3})),
                  "4 unexpected bytes after the data (shape [2] of <f4 needs 8 bytes)");
}

TEST(NpyErrors, ShapeWhoseByteCountOverflows) {
  expect_io_error(npy_file(f4_dict("(4611686018427387904, 4)"), payload_of<float>({1})),
                  "shape [4611686018427387904, 4] is too large");
}

// A header with 10,000 dimensions gave a 30 KB error line; NumPy writes at most 64.
TEST(NpyErrors, TooManyDimensionsIsAShortError) {
  std::string shape = "(";
  for (int i = 0; i < 10000; ++i) shape += "1, ";
  shape += ")";
  try {
    parse_npy(npy_file(f4_dict(shape), payload_of<float>({1}), /*major=*/2), "x.npy");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than 64 dimensions"));
    EXPECT_LT(std::string(e.what()).size(), 400u);
  }
  // Long shapes in other messages keep their first and last dimensions.
  EXPECT_EQ((HostArray{std::vector<int64_t>(20, 3), {}}.shape_string()), "[3, 3, 3, 3, ... (20 dimensions), 3, 3]");
}

TEST(NpyErrors, TruncatedHeader) {
  const std::string bytes = npy_file(f4_dict("(2,)"), "");
  expect_io_error(bytes.substr(0, 30),
                  "truncated .npy header (needs " + std::to_string(bytes.size()) + " bytes, the file has 30)");
}

TEST(NpyErrors, HeaderGarbage) {
  expect_io_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", payload_of<float>({1, 2})),
                  "malformed .npy header (expected a non-negative integer dimension");
  expect_io_error(npy_file("not a dict", ""), "malformed .npy header (expected '{'");
  expect_io_error(npy_file("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", payload_of<float>({1})),
                  "malformed .npy header (expected True or False");
}

TEST(NpyErrors, HeaderWithoutShapeOrWithUnknownKey) {
  expect_io_error(npy_file("{'descr': '<f4', 'fortran_order': False}", ""), "no 'shape' key");
  expect_io_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 'x'}",
                           payload_of<float>({1})),
                  "unexpected key 'extra'");
}

TEST(NpyErrors, NegativeDimensionIsMalformed) {
  expect_io_error(npy_file(f4_dict("(-1,)"), ""), "malformed .npy header");
}

TEST(NpyErrors, MissingFileNamesThePath) {
  ScratchDirectory dir;
  const auto path = dir / "absent.npy";
  try {
    read_npy(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_EQ(std::string(e.what()), path.string() + ": cannot open for reading (No such file or directory)");
  }
}

TEST(NpyErrors, CorruptFileOnDiskNamesThePath) {
  ScratchDirectory dir;
  std::ofstream(dir / "bad.npy") << "garbage";
  try {
    read_npy(dir / "bad.npy");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), StartsWith((dir / "bad.npy").string() + ": not a .npy file"));
  }
}

TEST(NpyErrors, WriteIntoMissingDirectory) {
  ScratchDirectory dir;
  const auto path = dir / "no" / "such" / "dir.npy";
  try {
    write_npy(path, std::vector<float>{1}, {1});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::IoError);
    EXPECT_THAT(e.what(), StartsWith(path.string() + ": cannot open for writing"));
  }
}

TEST(NpyErrors, WriteWithShapeThatDoesNotMatchTheData) {
  try {
    format_npy(std::vector<float>{1, 2, 3}, {2, 2}, "a.npy");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "a.npy: cannot write shape [2, 2] (4 elements) from 3 values");
  }
}

// A FIFO as x.npy blocked forever and a link to /dev/zero read until memory ran out; writing y.npy
// into a FIFO that nobody reads blocked too.
TEST(NpyErrors, FifoAndDevicesAreRefusedWithoutBlocking) {
  ScratchDirectory dir;
  ASSERT_EQ(mkfifo(dir.file("x.npy").c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/zero", dir / "zero.npy");
  auto read_fails_with = [](const std::filesystem::path& path, const std::string& expected) {
    try {
      read_npy(path);
      return 1;
    } catch (const Error& e) {
      return e.code() == ErrorCode::IoError && std::string(e.what()).find(expected) != std::string::npos ? 0 : 2;
    }
  };
  EXPECT_EQ(dcnjit::testing::run_with_deadline([&] { return read_fails_with(dir / "x.npy", "is a FIFO"); }), 0)
      << "1: read, 2: another error, 114: blocked";
  EXPECT_EQ(dcnjit::testing::run_with_deadline(
                [&] { return read_fails_with(dir / "zero.npy", "is a character device"); }),
            0)
      << "1: read, 2: another error, 106/109/114: ran out of memory or time";
  ASSERT_EQ(mkfifo(dir.file("y.npy").c_str(), 0600), 0);
  EXPECT_EQ(dcnjit::testing::run_with_deadline([&] {
              try {
                write_npy(dir / "y.npy", std::vector<float>{1.0f}, {1});
                return 1;
              } catch (const Error& e) {
                return std::string(e.what()).find("is a FIFO that nobody reads") != std::string::npos ? 0 : 2;
              }
            }),
            0)
      << "1: written, 2: another error, 114: blocked";
}

}  // namespace
}  // namespace dcnjit::io
