#include "tuner/pass.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit::tuner {

const char* to_string(Pass pass) {
  switch (pass) {
    case Pass::forward: return "forward";
    case Pass::backward_data: return "backward_data";
    case Pass::backward_offset_mask: return "backward_offset_mask";
    case Pass::backward_weight: return "backward_weight";
  }
  return "?";
}

Pass parse_pass(const std::string& text) {
  for (Pass pass : {Pass::forward, Pass::backward_data, Pass::backward_offset_mask, Pass::backward_weight})
    if (text == to_string(pass)) return pass;
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("pass: '{}' is not one of forward, backward_data, backward_offset_mask, backward_weight", text));
}

std::vector<Pass> parse_pass_selection(const std::string& text) {
  if (text == "forward") return {Pass::forward};
  if (text == "backward") return {Pass::backward_data, Pass::backward_offset_mask, Pass::backward_weight};
  if (text == "all") return {Pass::forward, Pass::backward_data, Pass::backward_offset_mask, Pass::backward_weight};
  throw Error(ErrorCode::InvalidArgument, fmt::format("pass: '{}' is not one of forward, backward, all", text));
}

}  // namespace dcnjit::tuner
