#include "runtime/sim/dynamic_shared_rewrite.h"

#include <gtest/gtest.h>

namespace dcnjit::sim {
namespace {

TEST(SimDynamicSharedRewrite, TurnsExternSharedArraysIntoArenaPointers) {
  EXPECT_EQ(rewrite_dynamic_shared("  extern __shared__ float smem[];\n"),
            "  float* smem = ::dcnjit_sim::dynamic_shared<float>();\n");
  EXPECT_EQ(rewrite_dynamic_shared("extern __shared__ __align__(16) unsigned char raw [ ] ;"),
            "unsigned char* raw = ::dcnjit_sim::dynamic_shared<unsigned char>();");
  EXPECT_EQ(rewrite_dynamic_shared("extern __shared__ alignas(8) T buf[];"),
            "T* buf = ::dcnjit_sim::dynamic_shared<T>();");
}

TEST(SimDynamicSharedRewrite, LeavesEverythingElseByteIdentical) {
  const std::string text =
      "__shared__ float tile[32][33];\n"
      "extern \"C\" __global__ void k(P p) { int a[4]; }\n"
      "// extern __shared__ in a comment without a declaration\n";
  EXPECT_EQ(rewrite_dynamic_shared(text), text);
}

TEST(SimDynamicSharedRewrite, RewritesEveryDeclarationAndKeepsLineCount) {
  const std::string text = "a\nextern __shared__ int x[];\nb\nextern __shared__ double y[];\nc\n";
  const std::string out = rewrite_dynamic_shared(text);
  EXPECT_EQ(out,
            "a\nint* x = ::dcnjit_sim::dynamic_shared<int>();\nb\n"
            "double* y = ::dcnjit_sim::dynamic_shared<double>();\nc\n");
}

}  // namespace
}  // namespace dcnjit::sim
