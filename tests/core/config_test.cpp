// Config's text form is the tuning database's storage format: golden and strict about syntax. What the
// knobs mean is the knob tables' business (knob_table_test.cpp).
#include <gtest/gtest.h>

#include "dcnjit/dcnjit.h"

namespace dcnjit {
namespace {

std::string message_of(const char* text) {
  try {
    Config::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "'" << text << "' parsed";
  return "";
}

TEST(Config, CanonicalTextIsTheAlgorithmThenTheKnobsInOrder) {
  Config c;
  c.algorithm = "im2col";
  c.set("step", "4").set("threads", "128").set("bwd", "split");
  EXPECT_EQ(c.to_string(), "im2col step=4 threads=128 bwd=split");
  EXPECT_EQ(Config{}.to_string(), "");
}

TEST(Config, RoundTripsThroughItsText) {
  const Config c = Config::parse("fused bm=128 bn=64 warps=2x2");
  EXPECT_EQ(c.algorithm, "fused");
  ASSERT_EQ(c.knobs.size(), 3u);
  EXPECT_EQ(*c.find("warps"), "2x2");
  EXPECT_EQ(Config::parse(c.to_string()), c);
}

TEST(Config, TheAlgorithmIsOptionalAndKnobsKeepTheirOrder) {
  const Config c = Config::parse("tile=512 step=1");
  EXPECT_TRUE(c.algorithm.empty());
  EXPECT_EQ(c.to_string(), "tile=512 step=1");
  EXPECT_EQ(c.find("colour"), nullptr);
}

TEST(Config, SetReplacesAnExistingKnob) {
  Config c = Config::parse("im2col step=1 tile=0");
  c.set("step", "2");
  EXPECT_EQ(c.to_string(), "im2col step=2 tile=0");
}

TEST(Config, RejectsBadSyntaxNamingTheToken) {
  EXPECT_NE(message_of("step=1 im2col").find("'im2col' is not key=value"), std::string::npos);
  EXPECT_NE(message_of("step=").find("'step=' is not key=value"), std::string::npos);
  EXPECT_NE(message_of("=3").find("'=3' is not key=value"), std::string::npos);
  EXPECT_NE(message_of("step=1 step=2").find("knob 'step' is given twice"), std::string::npos);
  EXPECT_NE(message_of("im/2col").find("not an algorithm name"), std::string::npos);
}

}  // namespace
}  // namespace dcnjit
