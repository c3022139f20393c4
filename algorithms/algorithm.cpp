#include "algorithms/algorithm.h"

namespace dcnjit::algo {

Gradients all_gradients(const Problem& problem) {
  return Gradients{true, true, problem.mask, true, problem.bias};
}

Gradients requested_gradients(const Problem& problem, const BackwardArgs& args) {
  return Gradients{args.grad_x.present(), args.grad_offset.present(), problem.mask && args.grad_mask.present(),
                   args.grad_weight.present(), args.grad_bias.present()};
}

}  // namespace dcnjit::algo
