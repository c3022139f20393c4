// The errors of one CUDA device, so that the first one is the one reported.
//
// Two situations hide the first error. After a sticky error (a kernel's illegal address, a trap) every
// later driver call fails too, and the caller should hear about the fault, not about a cuMemFree that
// failed because of it. And releases run in destructors (DeviceBuffer, the tuner's inputs, the launch
// context) where throwing ends the process, so a release records its failure instead of throwing.
//
//   lost:     the first sticky error. Every later call on the device throws Error(DeviceLost) quoting
//             it; nothing can run in this context again (only a new process recovers).
//   deferred: the first non-sticky error of a path that cannot throw (a release, the end of a pass),
//             thrown once by the next call that can.
#pragma once

#include <optional>

#include "dcnjit/error.h"

namespace dcnjit::cuda {

class DeviceErrors {
 public:
  // An error about to be thrown by a call that can throw: remembered when it is the first sticky one.
  void thrown(const Error& error);
  // An error of a path that cannot throw: remembered if it is the first of its kind, else dropped (a
  // consequence of the error already kept).
  void noted(const Error& error) noexcept;
  // At the start of every call that can throw: the lost device's error, else the deferred error once.
  void throw_pending();

  bool lost() const { return lost_.has_value(); }

 private:
  std::optional<Error> lost_;
  std::optional<Error> deferred_;
};

}  // namespace dcnjit::cuda
