// Placeholder until the CPU backend lands.
#include "runtime/backend.h"

namespace dcnjit::detail {

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions&) {
  throw Error(ErrorCode::Unsupported, "backend: cpu is not implemented in this build");
}

}  // namespace dcnjit::detail
