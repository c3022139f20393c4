// The im2col algorithm: deformable im2col into a column buffer in global memory, then GEMMs (the
// device's: cuBLASLt on cuda, OpenBLAS on sim); backward through dcol = W^T dY, a col2im scatter with the
// coordinate gradients, and grad_W = dY columns^T. The first generation's pipeline, and the reference the
// fused family is measured against. Runs every problem (both layouts, every dtype but f64 on cuda).
#pragma once

#include <memory>

#include "algorithms/algorithm.h"

namespace dcnjit::algo {

std::unique_ptr<Algorithm> make_im2col_algorithm(const detail::DeviceTraits& traits, const RunOptions& options = {});

}  // namespace dcnjit::algo
