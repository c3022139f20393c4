#include "tools/io/npy.h"

#include <fmt/format.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "dcnjit/error.h"
#include "core/file_io.h"
#include "core/half.h"

namespace dcnjit::io {

// The data are copied with memcpy; a big-endian host would need byte swaps that nobody tests.
static_assert(std::endian::native == std::endian::little, "dcnjit's .npy I/O assumes a little-endian host");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kMagicAndVersion = 8;  // magic (6) + major (1) + minor (1)

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(ErrorCode::IoError, fmt::format("{}: {}", name, what));
}

// NumPy's own limit (NPY_MAXDIMS of NumPy 2): a header with more dimensions is not an array NumPy wrote.
constexpr std::size_t kMaxDimensions = 64;

// "[2, 18, 5, 7]"; a long shape keeps its first and last dimensions, so a message stays one short line.
std::string shape_text(const std::vector<int64_t>& shape) {
  constexpr std::size_t kHead = 4, kTail = 2;
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape.size() > kHead + kTail + 2 && i == kHead) {
      s += fmt::format(", ... ({} dimensions)", shape.size());
      i = shape.size() - kTail - 1;
      continue;
    }
    s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  }
  return s + "]";
}

// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
// This parser accepts exactly the subset NumPy writes: string keys, and string, True/False or
// integer-tuple values.
struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  Header parse() {
    Header header;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (header.descr) malformed("duplicate key 'descr'");
        header.descr = string_literal();
      } else if (key == "fortran_order") {
        if (header.fortran_order) malformed("duplicate key 'fortran_order'");
        header.fortran_order = boolean();
      } else if (key == "shape") {
        if (header.shape) malformed("duplicate key 'shape'");
        header.shape = int_tuple();
      } else {
        malformed(fmt::format("unexpected key '{}'", key));
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) malformed("text after the closing '}'");
    return header;
  }

 private:
  [[noreturn]] void malformed(const std::string& what) const {
    fail(name_, fmt::format("malformed .npy header ({} at offset {} of \"{}\")", what, pos_, printable()));
  }

  // The header text with control characters made visible, so an error message stays on one line.
  std::string printable() const {
    std::string s;
    for (char c : text_.substr(0, 200))
      s += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", uint8_t(c));
    return s;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) ++pos_;
  }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) malformed(fmt::format("expected '{}'", c));
  }

  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) malformed("expected a quoted string");
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) malformed("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  bool boolean() {
    skip_space();
    using Word = std::pair<std::string_view, bool>;
    for (auto [word, value] : {Word{"True", true}, Word{"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    malformed("expected True or False");
  }

  std::vector<int64_t> int_tuple() {
    expect('(');
    std::vector<int64_t> values;
    while (!accept(')')) {
      skip_space();
      const std::size_t start = pos_;
      int64_t v = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const int digit = text_[pos_++] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) malformed("dimension too large");
        v = v * 10 + digit;
      }
      if (pos_ == start) malformed("expected a non-negative integer dimension");
      if (values.size() == kMaxDimensions) malformed(fmt::format("more than {} dimensions", kMaxDimensions));
      values.push_back(v);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

enum class ElementType { f32, f16, f64 };

ElementType element_type(const std::string& descr, const std::string& name) {
  if (descr == "<f4") return ElementType::f32;
  if (descr == "<f2") return ElementType::f16;
  if (descr == "<f8") return ElementType::f64;
  if (descr.size() == 3 && descr[0] == '>' && descr[1] == 'f')
    fail(name, fmt::format("dtype '{}' is big-endian, which is not supported (expected <f4, <f2 or <f8)", descr));
  fail(name, fmt::format("dtype '{}' is not supported (expected <f4, <f2 or <f8)", descr));
}

std::size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::f32: return 4;
    case ElementType::f16: return 2;
    case ElementType::f64: return 8;
  }
  return 0;
}

uint32_t read_le(std::string_view bytes, std::size_t offset, std::size_t width) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= uint32_t(uint8_t(bytes[offset + i])) << (8 * i);
  return v;
}

}  // namespace

int64_t HostArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      throw Error(ErrorCode::InvalidArgument, fmt::format("array of shape {}: too many elements for 64 bits",
                                                          shape_text(shape)));
  return n;
}

std::string HostArray::shape_string() const { return shape_text(shape); }

std::string element_index_text(const std::vector<int64_t>& shape, std::size_t flat) {
  std::vector<int64_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) return shape_text(index);
    index[d] = int64_t(flat % std::size_t(shape[d]));
    flat /= std::size_t(shape[d]);
  }
  return shape_text(index);
}

HostArray parse_npy(std::string_view bytes, const std::string& name) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    fail(name, "not a .npy file (missing the \\x93NUMPY magic string)");
  if (bytes.size() < kMagicAndVersion) fail(name, "truncated .npy file (no version bytes)");
  const int major = uint8_t(bytes[6]), minor = uint8_t(bytes[7]);
  if ((major != 1 && major != 2) || minor != 0)
    fail(name, fmt::format(".npy format version {}.{} is not supported (expected 1.0 or 2.0)", major, minor));

  // Version 1.0 stores the header length in 2 bytes, 2.0 in 4 (little-endian).
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < kMagicAndVersion + length_bytes) fail(name, "truncated .npy file (no header length)");
  const std::size_t header_length = read_le(bytes, kMagicAndVersion, length_bytes);
  const std::size_t data_start = kMagicAndVersion + length_bytes + header_length;
  if (bytes.size() < data_start)
    fail(name, fmt::format("truncated .npy header (needs {} bytes, the file has {})", data_start, bytes.size()));

  const Header header = HeaderParser(bytes.substr(kMagicAndVersion + length_bytes, header_length), name).parse();
  if (!header.descr) fail(name, "malformed .npy header (no 'descr' key)");
  if (!header.fortran_order) fail(name, "malformed .npy header (no 'fortran_order' key)");
  if (!header.shape) fail(name, "malformed .npy header (no 'shape' key)");
  const ElementType type = element_type(*header.descr, name);
  if (*header.fortran_order)
    fail(name, "Fortran-order arrays are not supported (fortran_order is True; save a C-order array)");

  HostArray array;
  array.shape = *header.shape;
  const std::size_t size = element_size(type);
  const std::size_t available = bytes.size() - data_start;
  std::size_t count = 1;
  for (int64_t d : array.shape) {
    // Checked so that a hostile shape cannot overflow the byte count and then pass the size test.
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / size / std::size_t(d))
      fail(name, fmt::format("shape {} is too large", array.shape_string()));
    count *= std::size_t(d);
  }
  const std::size_t needed = count * size;
  if (available < needed)
    fail(name, fmt::format("data truncated: shape {} of {} needs {} bytes, the file has {} after the header",
                           array.shape_string(), *header.descr, needed, available));
  if (available > needed)
    fail(name, fmt::format("{} unexpected bytes after the data (shape {} of {} needs {} bytes)", available - needed,
                           array.shape_string(), *header.descr, needed));

  array.data.resize(count);
  const char* src = bytes.data() + data_start;
  switch (type) {
    case ElementType::f32:
      if (needed) std::memcpy(array.data.data(), src, needed);  // an empty vector's data() may be null
      break;
    case ElementType::f16:
      for (std::size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        array.data[i] = half_to_float(h);
      }
      break;
    case ElementType::f64:
      for (std::size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        array.data[i] = float(d);
        // NaN and Inf stay what they are; a finite value must not silently become Inf.
        if (std::isfinite(d) && !std::isfinite(array.data[i]))
          fail(name, fmt::format("element {} is {:g}, beyond float32's range (largest finite value {:g}); the "
                                 "backends compute in float32 at most",
                                 element_index_text(array.shape, i), d, double(std::numeric_limits<float>::max())));
      }
      break;
  }
  return array;
}

HostArray read_npy(const std::filesystem::path& path) {
  // A regular file only (a FIFO or /dev/zero would hang or never end); its size is the bound, and one
  // larger than the machine's memory is refused before reading (core/file_io.h).
  return parse_npy(detail::read_regular_file(path, std::numeric_limits<std::size_t>::max(), ""),
                   path.string());
}

std::string format_npy(std::span<const float> data, const std::vector<int64_t>& shape, const std::string& name) {
  int64_t count = 1;
  std::string dims;
  for (int64_t d : shape) {
    if (d < 0) fail(name, fmt::format("cannot write shape {}: negative dimension", shape_text(shape)));
    count *= d;
    dims += fmt::format("{}{}", dims.empty() ? "" : ", ", d);
  }
  if (shape.size() == 1) dims += ',';  // Python's one-element tuple: (3,)
  if (std::size_t(count) != data.size())
    fail(name, fmt::format("cannot write shape {} ({} elements) from {} values", shape_text(shape), count,
                           data.size()));
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // NumPy pads the header with spaces and a final newline so the data start on a 64-byte boundary.
  const std::size_t prefix = kMagicAndVersion + 2;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff) fail(name, "shape too long for a version 1.0 header");

  std::string bytes(kMagic);
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  if (!data.empty()) bytes.append(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  return bytes;
}

void write_npy(const std::filesystem::path& path, std::span<const float> data, const std::vector<int64_t>& shape) {
  const std::string name = path.string();
  const std::string bytes = format_npy(data, shape, name);
  detail::OutputFile file = detail::open_output_file(path, "");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size())
    fail(name, fmt::format("write failed ({})", std::strerror(errno)));
  if (std::fclose(file.release()) != 0) fail(name, fmt::format("write failed ({})", std::strerror(errno)));
}

}  // namespace dcnjit::io
