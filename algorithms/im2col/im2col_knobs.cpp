#include "algorithms/im2col/im2col_knobs.h"

#include "algorithms/im2col/im2col_kernels.h"
#include "algorithms/im2col/im2col_workspace.h"

#include <fmt/format.h>

#include <algorithm>

namespace dcnjit::algo::im2col {

namespace {

const std::vector<int64_t> kBlockThreads = {128, 256, 512};
const std::vector<int64_t> kItemsPerThread = {1, 2, 4};
const std::vector<int64_t> kSplits = {1, 2, 4, 8, 16, 32};  // powers of two that divide a warp
// Threads an SM keeps resident on sm_80 and sm_90 (the default split's occupancy target).
constexpr long long kResidentThreadsPerSm = 2048;
// The default split leaves each lane at least this many channels: below, the per-item work (sample
// point, offset and mask loads, the split's reduction) outweighs the channel loop it divides.
constexpr int kMinChannelsPerLane = 4;
constexpr int64_t kAtomicPlain = 0, kAtomicWarp = 1, kAtomicGather = 2;  // the `atomic` knob's words
constexpr int64_t kBwdFused = 0, kBwdSplit = 1;                          // the `bwd` knob's words
constexpr int kMaxTunedStep = 64;
// cuBLASLt's heuristic returns up to this many candidates per GEMM; beyond the 4th they are rarely
// competitive, so the tuner tries the first four.
constexpr int kTunedGemmCandidates = 4;

// Bytes of one image's columns (the pitched rows of im2col_workspace.h).
long long column_bytes_per_image(const Problem& problem) {
  const long long rows = problem.layout == Layout::nhwc ? problem.Ho() * problem.Wo() : problem.C * problem.taps();
  return std::max<long long>(1, rows * column_pitch(problem) * (long long)dtype_size(problem.dtype));
}

long long column_budget_bytes(std::size_t l2_bytes) { return (long long)(l2_bytes / 4 * 3); }

// Work items of the sampling kernels for a chunk of `images` images (tap_geometry.cuh).
long long sampling_work_items(const Problem& problem, long long images) {
  return images * problem.offset_groups * problem.taps() * problem.Ho() * problem.Wo();
}

int channels_per_group(const Problem& problem) { return int(problem.C / problem.offset_groups); }

std::string one_of(const std::vector<int64_t>& allowed, int64_t value) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return {};
  return fmt::format("expected one of {}", fmt::join(allowed, ", "));
}

KnobDef gemm_knob(const char* name, const char* meaning, Affects affects, int algorithms) {
  return KnobDef{name, meaning, affects, {},
                 [algorithms](const Problem&) {
                   std::vector<int64_t> values;
                   for (int a = 0; a < std::min(algorithms, kTunedGemmCandidates); ++a) values.push_back(a);
                   return values;
                 },
                 [](const Problem&) -> int64_t { return 0; },
                 [algorithms](const Problem&, int64_t v) -> std::string {
                   if (v >= 0 && v < algorithms) return {};
                   return fmt::format("expected 0 to {} (the device's GEMM candidates)", algorithms - 1);
                 }};
}

}  // namespace

int default_step(const Problem& problem, std::size_t l2_bytes) {
  const long long fit = std::clamp<long long>(column_budget_bytes(l2_bytes) / column_bytes_per_image(problem), 1,
                                              problem.N);
  const long long chunks = (problem.N + fit - 1) / fit;
  return int((problem.N + chunks - 1) / chunks);
}

int default_split(const Problem& problem, const detail::DeviceTraits& traits) {
  const long long items = sampling_work_items(problem, default_step(problem, traits.l2_bytes));
  const long long resident = (long long)std::max(traits.sm_count, 1) * kResidentThreadsPerSm;
  const int most = std::clamp(channels_per_group(problem) / kMinChannelsPerLane, 1, 32);
  int split = 1;
  while (split * 2 <= most && items * split < resident) split *= 2;
  if (problem.layout == Layout::nhwc)
    while (split * 2 <= most && split * (long long)dtype_size(problem.dtype) < 32) split *= 2;
  return split;
}

Im2colKnobs Im2colKnobs::of(const KnobTable& table, const Config& config) {
  Im2colKnobs k;
  k.step = int(table.value(config, "step"));
  k.threads = int(table.value(config, "threads"));
  k.items = int(table.value(config, "items"));
  k.split = int(table.value(config, "split"));
  k.fused_backward = table.value(config, "bwd") == kBwdFused;
  k.warp_atomics = table.value(config, "atomic") == kAtomicWarp;
  k.gather = table.value(config, "atomic") == kAtomicGather;
  if (table.find("gemm_fwd")) {
    k.gemm_forward = int(table.value(config, "gemm_fwd"));
    k.gemm_dcol = int(table.value(config, "gemm_dcol"));
    k.gemm_weight = int(table.value(config, "gemm_wgrad"));
  }
  return k;
}

KnobTable make_im2col_knobs(const detail::DeviceTraits& traits, const RunOptions& options) {
  const std::size_t l2_bytes = traits.l2_bytes;
  const bool deterministic = options.deterministic;
  std::vector<KnobDef> knobs = {
      {"step", "images per chunk (the column buffer holds this many images)", Affects::both, {},
       [l2_bytes](const Problem& p) {
         // Powers of two up to N, N itself and the heuristic's balanced step, while the column buffer
         // stays within 4x the L2 budget (past it, columns stream through DRAM between the passes).
         const long long per_image = column_bytes_per_image(p), budget = column_budget_bytes(l2_bytes);
         std::vector<int64_t> steps;
         const long long most = std::min<long long>(p.N, kMaxTunedStep);
         for (long long step = 1; step <= most; step *= 2)
           if (step == 1 || step * per_image <= 4 * budget) steps.push_back(step);
         if (p.N <= kMaxTunedStep && p.N * per_image <= 4 * budget) steps.push_back(p.N);
         steps.push_back(default_step(p, l2_bytes));
         std::sort(steps.begin(), steps.end());
         steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
         return steps;
       },
       [l2_bytes](const Problem& p) -> int64_t { return default_step(p, l2_bytes); },
       [](const Problem& p, int64_t v) -> std::string {
         if (v >= 1 && v <= p.N) return {};
         return fmt::format("expected 1 to N={}", p.N);
       }},
      {"threads", "threads per block of the sampling kernels", Affects::both, {},
       [](const Problem&) { return kBlockThreads; }, [](const Problem&) -> int64_t { return 256; },
       [](const Problem&, int64_t v) { return one_of(kBlockThreads, v); }},
      {"items", "work items per thread, their loads in flight together", Affects::both, {},
       [](const Problem&) { return kItemsPerThread; }, [](const Problem&) -> int64_t { return 1; },
       [](const Problem&, int64_t v) { return one_of(kItemsPerThread, v); }},
      {"split", "lanes sharing one work item's channel loop (each walks every split-th channel)", Affects::both,
       {},
       [](const Problem& p) {
         std::vector<int64_t> splits;
         for (int64_t v : kSplits)
           if (v <= channels_per_group(p)) splits.push_back(v);
         return splits;
       },
       [traits](const Problem& p) -> int64_t { return default_split(p, traits); },
       [](const Problem& p, int64_t v) -> std::string {
         if (std::string why = one_of(kSplits, v); !why.empty()) return why;
         if (v > channels_per_group(p))
           return fmt::format("at most the {} channels of an offset group (C/og)", channels_per_group(p));
         return {};
       }},
      // Deterministic: the gather col2im runs beside the coord kernel, never inside the fused one.
      {"bwd", "fused: one pass over dcol for grad_x, grad_offset, grad_mask; split: col2im then coord",
       Affects::backward, {"fused", "split"},
       [deterministic](const Problem&) {
         return deterministic ? std::vector<int64_t>{kBwdSplit} : std::vector<int64_t>{kBwdFused, kBwdSplit};
       },
       [deterministic](const Problem&) -> int64_t { return deterministic ? kBwdSplit : kBwdFused; }, {}},
      {"atomic", "how col2im writes grad_x: plain or warp-aggregated atomics, or gather (deterministic)",
       Affects::backward, {"plain", "warp", "gather"},
       [deterministic](const Problem&) {
         return deterministic ? std::vector<int64_t>{kAtomicGather}
                              : std::vector<int64_t>{kAtomicPlain, kAtomicWarp, kAtomicGather};
       },
       [deterministic](const Problem&) -> int64_t { return deterministic ? kAtomicGather : kAtomicPlain; },
       [deterministic](const Problem&, int64_t v) -> std::string {
         if (deterministic && v != kAtomicGather)
           return "floating-point atomics sum in a varying order: a deterministic engine runs atomic=gather";
         return {};
       }},
  };
  if (traits.backend == Backend::cuda) {
    knobs.push_back(gemm_knob("gemm_fwd", "cuBLASLt candidate for y = W * columns", Affects::forward,
                              traits.gemm_algorithms));
    knobs.push_back(gemm_knob("gemm_dcol", "cuBLASLt candidate for dcol = W^T * dY", Affects::backward,
                              traits.gemm_algorithms));
    knobs.push_back(gemm_knob("gemm_wgrad", "cuBLASLt candidate for grad_W += dY * columns^T", Affects::backward,
                              traits.gemm_algorithms));
  }
  // More items per thread than a chunk has work for leaves SMs idle: never faster than items=1.
  ConfigCheck prune = [](const Problem& p, const KnobTable& table, const Config& config) -> std::string {
    const Im2colKnobs k = Im2colKnobs::of(table, config);
    if (k.items > 1 && sampling_work_items(p, k.step) * k.split < (long long)k.threads * k.items)
      return "a chunk has fewer work items than one block covers";
    return {};
  };
  // A thread of col2im_coord keeps each of its items' corners, weights and sums live: 2 or more items
  // need more than the 128 registers per thread a 512-thread block can have, and 4 items with 64-bit
  // indices more than 255 (all spilled in the NVRTC sweep). im2col_kernels.cpp gives items >= 2 the
  // registers of 256 resident threads.
  ConfigCheck check = [](const Problem& p, const KnobTable& table, const Config& config) -> std::string {
    const Im2colKnobs k = Im2colKnobs::of(table, config);
    if (k.items * k.threads > 512)
      return fmt::format("items={} with threads={}: at most 512 items per block (registers)", k.items, k.threads);
    if (k.items > 2 && needs_64bit_index(p, k.step))
      return fmt::format("items={}: at most 2 items per thread with 64-bit indices (registers)", k.items);
    if (k.gather && k.fused_backward)
      return "atomic=gather needs bwd=split: grad_x is gathered by its own kernels, the coordinates by coord";
    return {};
  };
  return KnobTable("im2col", std::move(knobs), std::move(check), std::move(prune));
}

}  // namespace dcnjit::algo::im2col
