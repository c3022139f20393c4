#include "runtime/cuda/device_errors.h"

namespace dcnjit::cuda {

void DeviceErrors::thrown(const Error& error) {
  if (error.code() == ErrorCode::DeviceLost && !lost_) lost_ = error;
}

void DeviceErrors::noted(const Error& error) noexcept {
  if (error.code() == ErrorCode::DeviceLost) {
    if (!lost_) lost_ = error;
  } else if (!lost_ && !deferred_) {
    deferred_ = error;
  }
}

void DeviceErrors::throw_pending() {
  if (lost_)
    throw Error(ErrorCode::DeviceLost,
                std::string("the GPU context was lost earlier and cannot run anything more in this process: ") +
                    lost_->what());
  if (deferred_) {
    const Error error = *deferred_;
    deferred_.reset();
    throw error;
  }
}

}  // namespace dcnjit::cuda
