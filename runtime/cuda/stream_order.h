// Orders dcnjit's device work across the caller's streams.
//
// A pass runs on the stream its arguments name (PyTorch passes its current stream), but every pass of
// an Engine shares device-side scratch: the launch context's workspace and column buffers, cuBLASLt's
// workspace, the vectors of ones the bias GEMMs read. A pass on stream B that starts while a pass on
// stream A still uses them would race. Waiting on the host between passes would serialize the caller's
// streams with the CPU; instead the end of every piece of work is recorded in one event, and work on
// a different stream first waits for that event on the device (cuStreamWaitEvent). Work on the same
// stream is already ordered by the stream and pays nothing. Memory is freed only once the last work
// that may use it is complete.
//
// The logic is separate from the driver (StreamOps) so it is tested on a recording implementation
// without a GPU (tests/runtime/cuda/stream_order_test.cpp).
#pragma once

#include <cuda.h>

namespace dcnjit::cuda {

// The three driver operations the ordering needs, on one event the implementation owns.
class StreamOps {
 public:
  virtual ~StreamOps() = default;
  virtual void record(CUstream stream) = 0;     // cuEventRecord(event, stream)
  virtual void wait(CUstream stream) = 0;       // cuStreamWaitEvent(stream, event, 0)
  virtual void synchronize() = 0;               // cuEventSynchronize(event)
};

class StreamOrder {
 public:
  explicit StreamOrder(StreamOps& ops) : ops_(ops) {}

  // Before enqueuing work (a pass, a copy) on `stream`: waits on the device for the last recorded work
  // when that ran on another stream.
  void before(CUstream stream);
  // After enqueuing it: records its end as the work the next stream must wait for.
  void after(CUstream stream);
  // Before freeing memory the recorded work may use: blocks the host until that work is complete.
  void before_free();

 private:
  StreamOps& ops_;
  bool recorded_ = false;
  CUstream last_ = nullptr;
};

}  // namespace dcnjit::cuda
