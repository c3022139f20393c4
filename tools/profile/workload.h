// What `dcnjit bench`, `dcnjit profile` and the Google Benchmark suite time: a pass, its FLOPs, and a
// Workload of random inputs on the backend under test, so the three measure exactly the same thing.
#pragma once

#include <cstdint>

#include "core/direction.h"
#include "dcnjit/engine.h"
#include "tools/io/device_problem.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::profile {

using Pass = Direction;

// FLOPs of a pass's GEMMs: 2 x MACs for the forward GEMM; the backward runs two GEMMs of that size
// (dcol = W^T dY and dW = dY col^T). Sampling work is not counted, so a GFLOP/s figure built on this
// compares directly with a dense convolution's.
double gemm_flops(const Problem& problem, Pass pass);

// Deterministic random non-zero arrays for `problem` (never time on zeros: a zero offset field turns
// bilinear sampling into integer lookups). Offsets lie in (-2, 2), as a trained DCNv2 layer's do;
// mask in (0.05, 1); weights scaled like a Kaiming-initialized layer so f16/bf16 outputs stay O(1).
io::ProblemArrays random_inputs(const Problem& problem, uint32_t seed = 1);

// Adds a random grad_y when the arrays have none (timing the backward of a --in DIR without grad_y.npy).
void ensure_grad_y(io::ProblemArrays& arrays, uint32_t seed = 2);

// The tensors a timed pass runs over: io::DeviceProblem made for backward (every gradient allocated),
// over the session's BackendImpl (Session::workload), the same upload `dcnjit run` does through an Engine.
using Workload = io::DeviceProblem;

}  // namespace dcnjit::profile
