// Device-side timing with CUDA events: the time the GPU spent between two points of a stream, not
// the host's view of it (launch latency, queueing). Used by the tuner and `dcnjit profile`.
#pragma once

#include <cuda.h>

#include <functional>

#include "runtime/cuda/driver_api.h"

namespace dcnjit::cuda {

// Two events on one stream. The context they were created in must be current for every call.
class EventTimer {
 public:
  explicit EventTimer(const DriverApi& api);
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start(CUstream stream);
  void stop(CUstream stream);
  // Waits for the stop event and returns the milliseconds between start and stop.
  double elapsed_ms();

 private:
  const DriverApi& api_;
  CUevent start_ = nullptr, stop_ = nullptr;
};

// Milliseconds the device spent on what `work` enqueued on `stream` (events recorded around it).
double time_ms(const DriverApi& api, CUstream stream, const std::function<void()>& work);

}  // namespace dcnjit::cuda
