// One golden snapshot of generated source, so any change to the generated text shows up in review.
// The snapshot is a reviewed file, not a recording: after an intended generator change,
// regenerate it with
//
//   DCNJIT_UPDATE_GOLDEN=1 build/bin/test_generator --gtest_filter='GoldenSource.*'
//
// then read `git diff tests/data/generator/` line by line before committing it (and bump
// GENERATOR_VERSION in generator/version.h if the kernels' behaviour changed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "generator/config_space.h"
#include "generator/generator.h"

namespace dcnjit::gen {
namespace {

const char* kSnapshot = "generator/backward_k3x3_g2_og2_mask_f16_split_warp.cu";

// Every kernel of the backward pass (split, warp atomics; its im2col is the forward's kernel) of a
// small grouped f16 problem, in launch order, separated by a line naming the kernel.
std::string snapshot_text() {
  const Problem problem = Problem::parse("N2 C64 H12 W16 Co32 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2 f16");
  Config config = default_kernel_config(problem);
  config.fused_backward = false;
  config.atomic = AtomicStrategy::warp;
  config.elems_per_thread = 2;
  std::string text;
  for (const KernelSource& kernel : generate(problem, Pass::backward, config))
    text += "// ===== " + kernel.name + " =====\n" + kernel.source;
  return text;
}

std::string data_path(const char* relative) {
  const char* root = std::getenv("DCNJIT_TEST_DATA");
  return std::string(root ? root : DCNJIT_SOURCE_DIR "/tests/data") + "/" + relative;
}

TEST(GoldenSource, BackwardF16SplitWarpMatchesTheReviewedSnapshot) {
  const std::string actual = snapshot_text();
  const std::string path = data_path(kSnapshot);
  if (const char* update = std::getenv("DCNJIT_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "rewrote " << path << ": review the diff before committing";
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing snapshot " << path;
  std::stringstream expected;
  expected << in.rdbuf();
  // On a mismatch, print the first differing line rather than two whole files.
  std::istringstream a(actual), e(expected.str());
  std::string line_a, line_e;
  int line = 0;
  while (true) {
    const bool more_a = bool(std::getline(a, line_a)), more_e = bool(std::getline(e, line_e));
    ++line;
    if (!more_a && !more_e) break;
    ASSERT_EQ(more_a, more_e) << path << ": generated text and snapshot differ in length at line " << line;
    ASSERT_EQ(line_a, line_e) << path << " line " << line;
  }
}

}  // namespace
}  // namespace dcnjit::gen
