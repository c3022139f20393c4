// dcnjit::Error: the one exception type the library throws. The code lets callers branch
// (e.g. fall back to the CPU on NoDevice); the message names the parameter or file at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace dcnjit {

enum class ErrorCode {
  InvalidArgument,  // a Problem, TensorRef, Config or CLI value is wrong; the message names it
  Unsupported,      // valid input that this backend/build does not handle (yet)
  NoDevice,         // no CUDA driver or no GPU
  CompileError,     // NVRTC or host compiler failed; the message carries the numbered log
  LaunchError,      // a driver / cuBLASLt call failed at run time
  DeviceLost,       // a kernel faulted (illegal address, ...): the GPU context is unusable for the rest of
                    // the process; the message is the first error, later calls on the device repeat it
  IoError,          // a file could not be read or written, or its contents are malformed
  CacheError,       // the tuning / binary database is unusable
  Internal,         // a bug in dcnjit
};

const char* to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace dcnjit
