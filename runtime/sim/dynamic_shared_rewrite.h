// The one source rewrite the sim applies before compiling CUDA with the host compiler. C++ has no
// way to declare a per-block array of unknown size, so a block-scope
//     extern __shared__ __align__(16) float smem[];
// becomes
//     float* smem = ::dcnjit_sim::dynamic_shared<float>();
// which points into the running block's dynamic shared-memory arena. `__align__(n)` / `alignas(n)`
// are dropped (the arena is 128-byte aligned). Everything else in the text is left byte-identical,
// so compiler line numbers still match the generated source. Namespace-scope `extern __shared__`
// declarations are not supported by the sim (the templates declare them inside kernels).
#pragma once

#include <string>
#include <string_view>

namespace dcnjit::sim {

std::string rewrite_dynamic_shared(std::string_view source);

}  // namespace dcnjit::sim
