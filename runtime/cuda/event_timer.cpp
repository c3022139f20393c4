// CUDA event timing (see event_timer.h).
#include "runtime/cuda/event_timer.h"

namespace dcnjit::cuda {

EventTimer::EventTimer(const DriverApi& api) : api_(api) {
  // Default flags: timing enabled. Blocking sync is not requested; elapsed_ms() spins briefly at most
  // for the short kernels the tuner times.
  DCNJIT_CU(api_, cuEventCreate(&start_, CU_EVENT_DEFAULT));
  try {
    DCNJIT_CU(api_, cuEventCreate(&stop_, CU_EVENT_DEFAULT));
  } catch (...) {
    api_.cuEventDestroy(start_);
    throw;
  }
}

EventTimer::~EventTimer() {
  api_.cuEventDestroy(start_);
  api_.cuEventDestroy(stop_);
}

void EventTimer::start(CUstream stream) { DCNJIT_CU(api_, cuEventRecord(start_, stream)); }

void EventTimer::stop(CUstream stream) { DCNJIT_CU(api_, cuEventRecord(stop_, stream)); }

double EventTimer::elapsed_ms() {
  DCNJIT_CU(api_, cuEventSynchronize(stop_));
  float ms = 0;
  DCNJIT_CU(api_, cuEventElapsedTime(&ms, start_, stop_));
  return ms;
}

double time_ms(const DriverApi& api, CUstream stream, const std::function<void()>& work) {
  EventTimer timer(api);
  timer.start(stream);
  work();
  timer.stop(stream);
  return timer.elapsed_ms();
}

}  // namespace dcnjit::cuda
