// Problem validation (every message names the parameter) and the canonical text form.
#include <gtest/gtest.h>

#include "dcnjit/dcnjit.h"

namespace dcnjit {
namespace {

Problem base() {
  Problem p;
  p.N = 2; p.C = 8; p.H = 9; p.W = 7; p.Co = 4;
  return p;
}

std::string error_of(const Problem& p) {
  try {
    p.validate();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  return "";
}

TEST(Problem, ValidProblemPasses) { EXPECT_EQ(error_of(base()), ""); }

TEST(Problem, OutputSizeFollowsTheConvolutionFormula) {
  Problem p = base();
  p.H = 50; p.W = 76; p.pad_h = 1; p.pad_w = 2; p.stride_h = 2; p.dilation_w = 3;
  EXPECT_EQ(p.Ho(), (50 + 2 - 3) / 2 + 1);
  EXPECT_EQ(p.Wo(), (76 + 4 - (3 * 2 + 1)) / 1 + 1);
}

struct BadCase {
  const char* what;
  void (*mutate)(Problem&);
  const char* message;
};

TEST(Problem, EachValidationErrorNamesTheParameter) {
  const BadCase cases[] = {
      {"N", [](Problem& p) { p.N = 0; }, "N=0 must be positive"},
      {"C", [](Problem& p) { p.C = -3; }, "C=-3 must be positive"},
      {"H", [](Problem& p) { p.H = 0; }, "H=0 must be positive"},
      {"W", [](Problem& p) { p.W = 0; }, "W=0 must be positive"},
      {"Co", [](Problem& p) { p.Co = 0; }, "Co=0 must be positive"},
      {"kh", [](Problem& p) { p.kh = 0; }, "kh=0 must be positive"},
      {"kw", [](Problem& p) { p.kw = -1; }, "kw=-1 must be positive"},
      {"stride_h", [](Problem& p) { p.stride_h = 0; }, "stride_h=0 must be positive"},
      {"stride_w", [](Problem& p) { p.stride_w = 0; }, "stride_w=0 must be positive"},
      {"dilation_h", [](Problem& p) { p.dilation_h = 0; }, "dilation_h=0 must be positive"},
      {"dilation_w", [](Problem& p) { p.dilation_w = 0; }, "dilation_w=0 must be positive"},
      {"pad_h", [](Problem& p) { p.pad_h = -1; }, "pad_h=-1 must not be negative"},
      {"pad_w", [](Problem& p) { p.pad_w = -2; }, "pad_w=-2 must not be negative"},
      {"groups", [](Problem& p) { p.groups = 0; }, "groups=0 must be positive"},
      {"groups C", [](Problem& p) { p.groups = 3; }, "groups=3 does not divide C=8"},
      {"groups Co", [](Problem& p) { p.groups = 8; }, "groups=8 does not divide Co=4"},
      {"offset_groups", [](Problem& p) { p.offset_groups = 0; }, "offset_groups=0 must be positive"},
      {"offset_groups C", [](Problem& p) { p.offset_groups = 3; }, "offset_groups=3 does not divide C=8"},
      {"kernel height", [](Problem& p) { p.kh = 11; }, "kernel height: dilation_h*(kh-1)+1=11 exceeds H+2*pad_h=9"},
      {"kernel width", [](Problem& p) { p.dilation_w = 4; }, "kernel width: dilation_w*(kw-1)+1=9 exceeds W+2*pad_w=7"},
      {"huge", [](Problem& p) { p.H = int64_t(1) << 31; }, "H=2147483648 exceeds the limit"},
  };
  for (const auto& c : cases) {
    Problem p = base();
    c.mutate(p);
    EXPECT_NE(error_of(p).find(c.message), std::string::npos) << c.what << ": got '" << error_of(p) << "'";
  }
}

TEST(Problem, CanonicalStringRoundTrips) {
  Problem p = base();
  p.kh = 3; p.kw = 5; p.stride_h = 2; p.pad_w = 1; p.dilation_h = 2; p.groups = 2; p.offset_groups = 4;
  p.mask = true; p.boundary = Boundary::v1; p.dtype = DType::bf16;
  EXPECT_EQ(p.to_string(), "N2 C8 H9 W7 Co4 k3x5 s2x1 p0x1 d2x1 g2 og4 mask nobias v1 bf16");
  EXPECT_EQ(Problem::parse(p.to_string()), p);
}

TEST(Problem, ParseAcceptsShortFormsAndDefaults) {
  Problem p = Problem::parse("N1 C64 H32 W32 k3 p1 mask");
  EXPECT_EQ(p.Co, 64);
  EXPECT_EQ(p.kh, 3);
  EXPECT_EQ(p.kw, 3);
  EXPECT_EQ(p.pad_h, 1);
  EXPECT_EQ(p.pad_w, 1);
  EXPECT_TRUE(p.mask);
  EXPECT_EQ(p.dtype, DType::f32);
}

TEST(Problem, ParseErrorsNameTheToken) {
  try {
    Problem::parse("N1 C64 H32 W32 q7");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown token 'q7'"), std::string::npos) << e.what();
  }
  try {
    Problem::parse("N1 C64 H3x2 W32");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 'H3x2'"), std::string::npos) << e.what();
  }
  try {
    Problem::parse("C64 H32 W32");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("must give N, C, H and W"), std::string::npos) << e.what();
  }
}

std::string parse_error_of(const std::string& text) {
  try {
    Problem::parse(text).validate();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  return "";
}

// An integer that does not fit its field is an error, never truncated: k4294967299 once ran as k3x3.
TEST(Problem, ParseRejectsIntegersOutOfRangeNamingTheToken) {
  for (const char* token : {"k4294967299", "k3x4294967299", "s4294967297", "p4294967297", "d4294967297", "g4294967297",
                            "og4294967297", "k2147483648"}) {
    const std::string error = parse_error_of(std::string("N1 C4 H8 W8 ") + token);
    EXPECT_NE(error.find(std::string("token '") + token + "'"), std::string::npos) << error;
    EXPECT_NE(error.find("out of range"), std::string::npos) << error;
  }
  EXPECT_NE(parse_error_of("N99999999999999999999 C4 H8 W8").find("out of range"), std::string::npos);
}

// Each dimension is bounded; their products must fit too. Before, N4096 C4096 H2^30 W2^30 passed and
// wrapped around in the size computations (SIGSEGV in bench), and p2147483647 overflowed in Ho().
TEST(Problem, ValidateRejectsSizeProductsThatDoNotFitNamingTheTensor) {
  EXPECT_NE(parse_error_of("N4096 C4096 H1073741824 W1073741824 Co1 k1").find(
                "x [N, C, H, W]: 4096*4096*1073741824*1073741824 elements do not fit in 64 bits"),
            std::string::npos);
  // y overflows while x fits: a 1x1 kernel keeps Ho x Wo = H x W, many output channels.
  EXPECT_NE(parse_error_of("N1073741824 C1 H1048576 W1048576 Co1073741824 k1").find("do not fit"),
            std::string::npos);
  // Fits in elements, not in bytes.
  EXPECT_NE(parse_error_of("N1073741824 C1073741824 H2 W2 Co1 k1").find("elements of 4 bytes do not fit in 64 bits"),
            std::string::npos);
  // The column matrix of one image: C * taps * Ho * Wo, larger than every tensor.
  EXPECT_NE(parse_error_of("N1 C1073741824 H65536 W65536 Co1 k1x1 og1073741824").find("x [N, C, H, W]"),
            std::string::npos);
  EXPECT_NE(parse_error_of("N1 C1 H1 W1 Co1 k3 p2147483647").find("pad_h=2147483647 exceeds the limit"),
            std::string::npos);
  EXPECT_NE(parse_error_of("N1 C1 H1 W1 Co1 k3 p1073741825").find("pad_h=1073741825 exceeds the limit"),
            std::string::npos);
  EXPECT_NE(parse_error_of("N1 C1 H1 W1 Co1 k3 p1073741824").find("output size"), std::string::npos);
  EXPECT_NE(parse_error_of("N1 C1 H65536 W65536 Co1 k65536x65536").find("kh*kw exceeds the limit"),
            std::string::npos);
}

// x, offset, weight and y fit; the column matrix of one image (C * kh*kw * Ho * Wo), which the GEMM
// backends build, does not.
TEST(Problem, ColumnsOfOneImageMustFit) {
  const std::string error = parse_error_of("N1 C4194304 H32768 W32768 Co1 k1024x1 p512x0");
  EXPECT_NE(error.find("columns of one image"), std::string::npos) << error;
}

}  // namespace
}  // namespace dcnjit
