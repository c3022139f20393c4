// Golden snapshots of generated source, so any change to the generated text shows up in review.
// The snapshot is a reviewed file, not a recording: after an intended generator change,
// regenerate it with
//
//   DCNJIT_UPDATE_GOLDEN=1 build/bin/test_algorithms_im2col --gtest_filter='*GoldenSource.*'
//
// then read `git diff tests/data/im2col/` line by line before committing it (and bump
// GENERATOR_VERSION in generator/version.h if the kernels' behaviour changed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "algorithms/im2col/im2col_algorithm.h"
#include "generator/generator.h"

namespace dcnjit::algo {
namespace {

struct Snapshot {
  const char* path;    // under tests/data
  const char* config;  // knobs of the im2col algorithm
  bool deterministic;  // a deterministic engine's table
};

const Snapshot kSnapshots[] = {
    {"im2col/backward_k3x3_g2_og2_mask_f16_split_warp_nchw.cu", "bwd=split atomic=warp items=2 split=4", false},
    {"im2col/backward_k3x3_g2_og2_mask_f16_deterministic_nchw.cu", "split=4", true},
};

// Every kernel of the backward pass with every gradient of a small grouped f16 problem, in launch order,
// separated by a line naming the kernel: split backward with warp atomics, 2 items per thread and a
// split of 4; and a deterministic engine's (the gather col2im).
std::string snapshot_text(const Snapshot& snapshot) {
  const Problem problem = Problem::parse("N2 C64 H12 W16 Co32 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2 f16");
  RunOptions options;
  options.deterministic = snapshot.deterministic;
  const auto algorithm = make_im2col_algorithm(detail::DeviceTraits{}, options);
  const Config config = algorithm->knobs().resolve(problem, Config::parse(snapshot.config));
  std::string text;
  for (const gen::KernelSpec& spec : algorithm->kernels(problem, config, Direction::backward, all_gradients(problem))) {
    const gen::KernelSource kernel = gen::generate_kernel(spec);
    text += "// ===== " + kernel.name + " =====\n" + kernel.source;
  }
  return text;
}

std::string data_path(const char* relative) {
  const char* root = std::getenv("DCNJIT_TEST_DATA");
  return std::string(root ? root : DCNJIT_SOURCE_DIR "/tests/data") + "/" + relative;
}

class GoldenSource : public ::testing::TestWithParam<Snapshot> {};

TEST_P(GoldenSource, BackwardF16MatchesTheReviewedSnapshot) {
  const std::string actual = snapshot_text(GetParam());
  const std::string path = data_path(GetParam().path);
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

INSTANTIATE_TEST_SUITE_P(Snapshots, GoldenSource, ::testing::ValuesIn(kSnapshots),
                         [](const ::testing::TestParamInfo<Snapshot>& info) {
                           return std::string(info.param.deterministic ? "Deterministic" : "SplitWarp");
                         });

}  // namespace
}  // namespace dcnjit::algo
