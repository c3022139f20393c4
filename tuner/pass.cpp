#include "tuner/pass.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit::tuner {

const std::vector<Pass>& all_passes() {
  static const std::vector<Pass> passes{Pass::forward, Pass::backward, Pass::backward_data,
                                        Pass::backward_offset_mask, Pass::backward_weight};
  return passes;
}

const std::vector<Pass>& plan_passes() {
  static const std::vector<Pass> passes{Pass::forward, Pass::backward};
  return passes;
}

const char* to_string(Pass pass) {
  switch (pass) {
    case Pass::forward: return "forward";
    case Pass::backward: return "backward";
    case Pass::backward_data: return "backward_data";
    case Pass::backward_offset_mask: return "backward_offset_mask";
    case Pass::backward_weight: return "backward_weight";
  }
  return "?";
}

namespace {
std::string known_pass_names() {
  std::string names;
  for (Pass pass : all_passes()) names += fmt::format("{}{}", names.empty() ? "" : ", ", to_string(pass));
  return names;
}
}  // namespace

Pass parse_pass(const std::string& text) {
  for (Pass pass : all_passes())
    if (text == to_string(pass)) return pass;
  throw Error(ErrorCode::InvalidArgument, fmt::format("pass: '{}' is not one of {}", text, known_pass_names()));
}

std::vector<Pass> parse_pass_selection(const std::string& text) {
  if (text == "all") return plan_passes();
  for (Pass pass : all_passes())
    if (text == to_string(pass)) return {pass};
  throw Error(ErrorCode::InvalidArgument, fmt::format("pass: '{}' is not one of all, {}", text, known_pass_names()));
}

PassOutputs outputs_of(Pass pass, const Problem& problem) {
  PassOutputs out;
  const bool data = pass == Pass::backward || pass == Pass::backward_data;
  const bool coordinates = pass == Pass::backward || pass == Pass::backward_offset_mask;
  const bool weight = pass == Pass::backward || pass == Pass::backward_weight;
  out.y = pass == Pass::forward;
  out.grad_x = data;
  out.grad_offset = coordinates;
  out.grad_mask = coordinates && problem.mask;
  out.grad_weight = weight;
  out.grad_bias = weight && problem.bias;
  return out;
}

std::vector<std::string> output_names(const PassOutputs& outputs) {
  std::vector<std::string> names;
  const std::pair<bool, const char*> named[] = {
      {outputs.y, "y"},
      {outputs.grad_x, "grad_x"},
      {outputs.grad_offset, "grad_offset"},
      {outputs.grad_mask, "grad_mask"},
      {outputs.grad_weight, "grad_weight"},
      {outputs.grad_bias, "grad_bias"},
  };
  for (const auto& [wanted, name] : named)
    if (wanted) names.emplace_back(name);
  return names;
}

}  // namespace dcnjit::tuner
