// Placeholder: the cuda backend is built in its own issue.
#include "runtime/backend.h"

namespace dcnjit::detail {

std::shared_ptr<BackendImpl> make_cuda_backend(const EngineOptions&) {
  throw Error(ErrorCode::Unsupported, "backend: cuda is not implemented in this build");
}

}  // namespace dcnjit::detail
