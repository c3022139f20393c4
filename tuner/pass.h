// Pass: what one tuning measurement times. `forward` and `backward` are what a Plan runs (its two
// configs); the three backward sub-passes are the backward call restricted to some gradients, kept
// for investigation (which part of a backward call is slow, and under which knobs) but never used
// to build a Plan when a `backward` winner exists (tuner/selector.h).
#pragma once

#include <string>
#include <vector>

#include "dcnjit/problem.h"

namespace dcnjit::tuner {

enum class Pass {
  forward,               // y
  backward,              // every gradient the problem has: what a user's backward call computes
  backward_data,         // grad_x alone (col2im scatter)
  backward_offset_mask,  // grad_offset, grad_mask alone (coordinate kernel)
  backward_weight,       // grad_weight, grad_bias alone (dY col^T)
};

// Every pass, in the order above.
const std::vector<Pass>& all_passes();
// The passes a Plan is built from, and what on_first_use and `dcnjit tune --pass all` tune.
const std::vector<Pass>& plan_passes();

const char* to_string(Pass pass);
// One of the names to_string() gives; Error(InvalidArgument) naming the known ones otherwise.
Pass parse_pass(const std::string& text);
// The --pass values of `dcnjit tune`: "all" (the plan passes) or the name of one pass.
std::vector<Pass> parse_pass_selection(const std::string& text);

// The tensors one run of a pass writes. Optional gradients (grad_mask, grad_bias) only when the
// problem has a mask or a bias. The measurement requests exactly these, and `dcnjit tune --json`
// lists them, so what a time means is never implicit.
struct PassOutputs {
  bool y = false;
  bool grad_x = false;
  bool grad_offset = false;
  bool grad_mask = false;
  bool grad_weight = false;
  bool grad_bias = false;

  bool operator==(const PassOutputs&) const = default;
};
PassOutputs outputs_of(Pass pass, const Problem& problem);
// The names of outputs_of(), e.g. {"grad_x", "grad_offset", "grad_weight"}.
std::vector<std::string> output_names(const PassOutputs& outputs);

}  // namespace dcnjit::tuner
