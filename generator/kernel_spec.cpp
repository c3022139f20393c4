#include "generator/kernel_spec.h"

namespace dcnjit::gen {

std::string KernelSpec::name() const {
  std::string name = "dcn_" + family;
  for (const SpecArgument& argument : arguments)
    if (!argument.token.empty()) name += "_" + argument.token;
  return name;
}

}  // namespace dcnjit::gen
