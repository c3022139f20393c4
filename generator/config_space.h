// The kernel-config space of a problem and pass: which Config values the generated kernels accept,
// the enumeration the tuner searches, and the validation that rejects anything else (a tampered
// tuning-database row, a hand-written --config) with the field at fault.
//
// Axes (design.md section 2): im2col_step, block_threads, elems_per_thread, fused vs split backward,
// atomic strategy. gemm_algo is the device's business (its candidate list) and is left at 0 here;
// cpu_pixel_tile belongs to the CPU backend and is ignored.
//
// validate_kernel_config() rejects what the kernels cannot run, naming the field:
//   threads          outside {128, 256, 512} (the values the zero-spill compile test covers)
//   ept              outside {1, 2, 4}
//   atomic=block     not implemented by the templates (plain and warp are)
//   cols=keep        backward has no access to the forward's columns; they are recomputed
//   step             larger than N
// enumerate_configs() also prunes what would run but cannot be faster than a config it keeps:
//   ept > 1          when block_threads * ept exceeds the work items of a chunk (one block, idle SMs)
//   atomic, bwd      for the forward pass, where they change nothing
#pragma once

#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"

namespace dcnjit::gen {

struct ConfigSpace {
  std::vector<int> im2col_steps;
  std::vector<int> block_threads;
  std::vector<int> elems_per_thread;
  std::vector<bool> fused_backward;       // backward only; {true} for forward
  std::vector<AtomicStrategy> atomics;    // backward only; {plain} for forward
};

// Images per chunk when the config leaves it open (im2col_step == 0): as many as keep the column
// buffer within kColumnBudgetElements, at least 1, at most N.
inline constexpr long long kColumnBudgetElements = 1ll << 26;
int default_im2col_step(const Problem& problem);
int resolve_im2col_step(const Problem& problem, const Config& config);

// The heuristic kernel config: resolved step, 256 threads, 1 element per thread, fused backward,
// plain atomics.
Config default_kernel_config(const Problem& problem);

ConfigSpace config_space(const Problem& problem, Pass pass);

// The cartesian product of config_space() with pruned points removed, in a fixed order (steps
// outermost), each a copy of `base` with the axes replaced (base supplies gemm_algo etc.).
std::vector<Config> enumerate_configs(const Problem& problem, Pass pass, const Config& base = {});

// Throws Error(InvalidArgument) naming the field and value when the generated kernels cannot run
// `config` for `problem`. Compiles nothing.
void validate_kernel_config(const Problem& problem, const Config& config);

}  // namespace dcnjit::gen
