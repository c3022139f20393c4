// Parsing ptxas' verbose resource report out of an NVRTC log (two kernels in one log, so the
// section boundaries matter).
#include "runtime/nvrtc/ptxas_log.h"

#include <gtest/gtest.h>

namespace dcnjit::nvrtc {
namespace {

// Verbatim shape of an NVRTC 13.0 sm_80 log with two entries (numbers edited to be distinct).
const char* kLog =
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'k_bias' for 'sm_80'\n"
    "ptxas info    : Function properties for k_bias\n"
    "ptxas         .     8 bytes stack frame, 12 bytes spill stores, 4 bytes spill loads\n"
    "ptxas info    : Used 32 registers, used 1 barriers, 8 bytes cumulative stack size, 1024 bytes smem, 568 bytes cmem[0]\n"
    "ptxas info    : Compiling entry function 'k_im2col' for 'sm_80'\n"
    "ptxas info    : Function properties for k_im2col\n"
    "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 39 registers, used 0 barriers, 568 bytes cmem[0]\n";

TEST(PtxasLog, ReadsTheSectionOfTheNamedEntry) {
  const KernelResources bias = parse_ptxas_log(kLog, "k_bias");
  EXPECT_TRUE(bias.known);
  EXPECT_EQ(bias.registers, 32);
  EXPECT_EQ(bias.spill_stores, 12);
  EXPECT_EQ(bias.spill_loads, 4);
  EXPECT_EQ(bias.shared_bytes, 1024);
  EXPECT_EQ(bias.stack_bytes, 8);

  const KernelResources im2col = parse_ptxas_log(kLog, "k_im2col");
  EXPECT_TRUE(im2col.known);
  EXPECT_EQ(im2col.registers, 39);
  EXPECT_EQ(im2col.spill_stores, 0);
  EXPECT_EQ(im2col.shared_bytes, 0);
}

TEST(PtxasLog, UnknownEntryOrEmptyLogIsNotKnown) {
  EXPECT_FALSE(parse_ptxas_log(kLog, "k_missing").known);
  EXPECT_FALSE(parse_ptxas_log("", "k_bias").known);
  // A prefix of an entry name must not match another entry.
  EXPECT_FALSE(parse_ptxas_log(kLog, "k_im2").known);
}

}  // namespace
}  // namespace dcnjit::nvrtc
