// Placeholder: the sim backend is built in its own issue.
#include "runtime/backend.h"

namespace dcnjit::detail {

std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions&) {
  throw Error(ErrorCode::Unsupported, "backend: sim is not implemented in this build");
}

}  // namespace dcnjit::detail
