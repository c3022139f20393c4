// The ordering of dcnjit's work across the caller's streams (runtime/cuda/stream_order.h), on recording
// operations: no GPU needed. Passes on one stream pay nothing; a pass or copy on another stream waits
// on the device for the last work; freeing memory waits on the host for it.
#include "runtime/cuda/stream_order.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dcnjit::cuda {
namespace {

CUstream stream(int id) { return reinterpret_cast<CUstream>(uintptr_t(id)); }

class RecordingOps final : public StreamOps {
 public:
  void record(CUstream s) override { ops.push_back(fmt::format("record {}", name(s))); }
  void wait(CUstream s) override { ops.push_back(fmt::format("wait {}", name(s))); }
  void synchronize() override { ops.push_back("synchronize"); }
  std::vector<std::string> ops;

 private:
  static std::string name(CUstream s) { return s ? fmt::format("s{}", uintptr_t(s)) : "default"; }
};

// What KernelBackend does around a pass, and CudaDevice around a copy.
void pass(StreamOrder& order, CUstream s) {
  order.before(s);
  order.after(s);
}

TEST(StreamOrder, TheFirstPassWaitsForNothing) {
  RecordingOps ops;
  StreamOrder order(ops);
  pass(order, stream(1));
  EXPECT_EQ(ops.ops, (std::vector<std::string>{"record s1"}));
}

TEST(StreamOrder, PassesOnOneStreamAreOrderedByTheStreamAlone) {
  RecordingOps ops;
  StreamOrder order(ops);
  for (int i = 0; i < 3; ++i) pass(order, stream(1));
  EXPECT_EQ(ops.ops, (std::vector<std::string>{"record s1", "record s1", "record s1"}));
}

TEST(StreamOrder, APassOnAnotherStreamWaitsForTheLastOneOnTheDevice) {
  RecordingOps ops;
  StreamOrder order(ops);
  pass(order, stream(1));
  pass(order, stream(2));  // shares the workspace with the pass on s1: must wait for it
  pass(order, stream(2));
  pass(order, stream(1));  // and back
  EXPECT_EQ(ops.ops, (std::vector<std::string>{"record s1", "wait s2", "record s2", "record s2", "wait s1",
                                               "record s1"}));
}

TEST(StreamOrder, ACopyOnTheDefaultStreamWaitsForAPassOnTheCallersStream) {
  // DeviceBuffer::download after a pass on a PyTorch stream (non-blocking: the legacy default stream
  // would not wait for it by itself).
  RecordingOps ops;
  StreamOrder order(ops);
  pass(order, stream(7));
  pass(order, nullptr);
  EXPECT_EQ(ops.ops, (std::vector<std::string>{"record s7", "wait default", "record default"}));
}

TEST(StreamOrder, FreeingWaitsOnTheHostOnlyAfterSomeWork) {
  RecordingOps ops;
  StreamOrder order(ops);
  order.before_free();
  EXPECT_TRUE(ops.ops.empty());
  pass(order, stream(3));
  order.before_free();
  EXPECT_EQ(ops.ops, (std::vector<std::string>{"record s3", "synchronize"}));
}

}  // namespace
}  // namespace dcnjit::cuda
