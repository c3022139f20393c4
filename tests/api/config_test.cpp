// Config's canonical string is the tuning database's storage format: golden and strict.
#include <gtest/gtest.h>

#include "dcnjit/dcnjit.h"

namespace dcnjit {
namespace {

TEST(Config, DefaultCanonicalStringIsStable) {
  EXPECT_EQ(Config{}.to_string(), "step=0 threads=256 ept=1 bwd=fused atomic=plain algo=0 cols=recompute tile=0");
}

TEST(Config, RoundTripsEveryField) {
  Config c;
  c.im2col_step = 4; c.block_threads = 128; c.elems_per_thread = 2; c.fused_backward = false;
  c.atomic = AtomicStrategy::block; c.gemm_algo = 3; c.keep_columns = true; c.cpu_pixel_tile = 512;
  EXPECT_EQ(Config::parse(c.to_string()), c);
}

TEST(Config, RejectsUnknownKeysAndBadValuesNamingTheKey) {
  auto message = [](const char* text) {
    try {
      Config::parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("colour=blue").find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(message("step=-1").find("step=-1 is invalid"), std::string::npos);
  EXPECT_NE(message("bwd=maybe").find("bwd=maybe is invalid"), std::string::npos);
  EXPECT_NE(message("atomic=x").find("atomic=x is invalid"), std::string::npos);
  EXPECT_NE(message("threads").find("not key=value"), std::string::npos);
}

}  // namespace
}  // namespace dcnjit
