#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::NoDevice: return "no device";
    case ErrorCode::CompileError: return "compile error";
    case ErrorCode::LaunchError: return "launch error";
    case ErrorCode::DeviceLost: return "device lost";
    case ErrorCode::IoError: return "i/o error";
    case ErrorCode::CacheError: return "cache error";
    case ErrorCode::Internal: return "internal error";
  }
  return "?";
}

}  // namespace dcnjit
