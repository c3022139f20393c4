// Checks the tensors of a forward/backward call against the Problem before any backend sees them.
// Every message names the tensor and says what was expected and what was found.
#pragma once

#include "dcnjit/args.h"
#include "dcnjit/error.h"
#include "dcnjit/config.h"
#include "dcnjit/problem.h"

namespace dcnjit::detail {

void validate_forward_args(const Problem& problem, Backend backend, const ForwardArgs& args);
void validate_backward_args(const Problem& problem, Backend backend, const BackwardArgs& args);

}  // namespace dcnjit::detail
