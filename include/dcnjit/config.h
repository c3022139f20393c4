// Config: the tunable choices for one problem on one backend. A plain struct with a stable,
// canonical to_string() (the tuning database stores that string) and a strict parse().
#pragma once

#include <string>

namespace dcnjit {

enum class Backend { cpu, cuda, sim };
const char* to_string(Backend backend);
Backend parse_backend(const std::string& text);  // "cpu" | "cuda" | "sim"

// How col2im scatters into grad_x.
enum class AtomicStrategy {
  plain,  // one atomicAdd per (tap, corner)
  warp,   // lanes that hit the same address combine through shuffles first
  block,  // accumulate a privatized tile in shared memory, flush once per block
};
const char* to_string(AtomicStrategy strategy);

struct Config {
  // Images per chunk: the column buffer holds im2col_step images. 0 = heuristic (Plan resolves it).
  int im2col_step = 0;

  // GPU / sim kernels.
  int block_threads = 256;       // threads per block of the sampling kernels
  int elems_per_thread = 1;      // output elements each thread produces (ILP)
  bool fused_backward = true;    // one pass over dcol computes grad_x, grad_offset and grad_mask
  AtomicStrategy atomic = AtomicStrategy::plain;
  int gemm_algo = 0;             // index into cuBLASLt's heuristic list (0 = its first choice)
  bool keep_columns = false;     // backward: reuse forward columns for grad_weight instead of recomputing

  // CPU backend.
  int cpu_pixel_tile = 0;        // output pixels per im2col tile (0 = whole image)

  // Canonical: "step=4 threads=256 ept=1 bwd=fused atomic=plain algo=0 cols=recompute tile=0".
  std::string to_string() const;
  // Accepts any subset of the keys above in any order; unknown keys or bad values throw
  // Error(InvalidArgument) naming the key.
  static Config parse(const std::string& text);

  bool operator==(const Config&) const = default;
};

}  // namespace dcnjit
