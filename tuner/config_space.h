// The candidate configs of one pass of one problem on one backend: the default config first, then
// the product of the knobs that pass is sensitive to, nearest to the default first (so a tight time
// budget explores small changes before exotic ones). Candidates the backend rejects
// (BackendImpl::validate_config) are pruned here, before anything is compiled or run.
#pragma once

#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tuner/pass.h"

namespace dcnjit::tuner {

// cpu: im2col step (powers of two up to N, N, the default) x pixel tile {0, 256, 1024, 4096, default},
// the same for every pass (the cpu backend has no other knob: it ignores the GPU ones).
// cuda / sim: the generator's space for the pass (gen::enumerate_configs: step, threads, elements
// per thread, and for every backward pass fused/split and the atomic strategy) x, on cuda for the
// GEMM-bound passes (forward, backward, backward_weight), the first four cuBLASLt algorithms.
// keep_columns is not a knob of any space: no backend implements cols=keep yet (the generator
// and the cpu backend reject it).
std::vector<Config> candidate_configs(const detail::BackendImpl& backend, const Problem& problem, Pass pass);

// True when `config` is one of candidate_configs() or the default: what a database row must be to
// be used (a tampered row names values outside the space).
bool in_config_space(const detail::BackendImpl& backend, const Problem& problem, Pass pass, const Config& config);

// True when the backend's validate_config takes `config` for `problem` (its error is the reason why not).
bool backend_accepts(const detail::BackendImpl& backend, const Problem& problem, const Config& config);

}  // namespace dcnjit::tuner
