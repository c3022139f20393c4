#include "runtime/backend.h"

namespace dcnjit::detail {

std::shared_ptr<BackendImpl> make_backend(const EngineOptions& options) {
  switch (options.backend) {
    case Backend::cpu: return make_cpu_backend(options);
    case Backend::sim: return make_sim_backend(options);
    case Backend::cuda: return make_cuda_backend(options);
  }
  throw Error(ErrorCode::InvalidArgument, "backend: unknown value");
}

}  // namespace dcnjit::detail
