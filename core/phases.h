// Phase reporting: backends announce the phases of a pass (im2col, GEMM, col2im, ...) with the
// bytes, FLOPs and atomics each one costs, so `dcnjit profile` can attribute time without guessing.
// The sim backend can also count what each phase's kernels do to a GPU's memory system
// (KernelCounters; runtime/sim/README.md "Counters").
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace dcnjit::detail {

// What a kernel launch does to a GPU's memory system and tensor cores, counted exactly for the
// simulated execution (sim backend with counting on), summed over the launches of a phase.
// A request is one warp-level instruction with at least one active lane.
struct KernelCounters {
  uint64_t global_load_requests = 0;
  uint64_t global_load_sectors = 0;   // 32-byte sectors touched, summed over the requests
  uint64_t global_store_requests = 0;
  uint64_t global_store_sectors = 0;
  uint64_t global_unique_sectors = 0;  // distinct sectors a launch touches (a lower bound of DRAM traffic)
  uint64_t shared_requests = 0;
  uint64_t shared_bank_conflicts = 0;  // wavefronts beyond one per request (per phase of wide accesses)
  uint64_t atomic_requests = 0;
  uint64_t atomic_conflicts = 0;       // lanes of a request whose address another lane already hit
  uint64_t atomic_sectors = 0;         // sectors the atomic requests touch, summed over the requests
  uint64_t mma_ops = 0;                // warp-level tensor-core MMAs (m16n16k16 or m16n16k8)
  uint64_t flops = 0;                  // their FLOPs, 2*M*N*K each
  uint64_t barriers = 0;               // __syncthreads completed, counted once per block

  KernelCounters& operator+=(const KernelCounters& other) {
    for (const auto& field : fields()) this->*field.member += other.*field.member;
    return *this;
  }
  KernelCounters& operator-=(const KernelCounters& other) {
    for (const auto& field : fields()) this->*field.member -= other.*field.member;
    return *this;
  }
  bool operator==(const KernelCounters&) const = default;

  // Every counter with its name: the names of the JSON object `counters`, the CSV columns and the
  // table, in this order.
  struct Field {
    const char* name;
    uint64_t KernelCounters::*member;
  };
  static constexpr std::array<Field, 13> fields() {
    return {{{"global_load_requests", &KernelCounters::global_load_requests},
             {"global_load_sectors", &KernelCounters::global_load_sectors},
             {"global_store_requests", &KernelCounters::global_store_requests},
             {"global_store_sectors", &KernelCounters::global_store_sectors},
             {"global_unique_sectors", &KernelCounters::global_unique_sectors},
             {"shared_requests", &KernelCounters::shared_requests},
             {"shared_bank_conflicts", &KernelCounters::shared_bank_conflicts},
             {"atomic_requests", &KernelCounters::atomic_requests},
             {"atomic_conflicts", &KernelCounters::atomic_conflicts},
             {"atomic_sectors", &KernelCounters::atomic_sectors},
             {"mma_ops", &KernelCounters::mma_ops},
             {"flops", &KernelCounters::flops},
             {"barriers", &KernelCounters::barriers}}};
  }
};

// A device's running totals while it counts: the kernels it simulated, and the GEMMs whose
// counters are a model (the sim runs GEMMs on the host BLAS, not as kernels).
struct CounterTotals {
  KernelCounters counters;
  uint64_t launches = 0;
  uint64_t modeled_gemms = 0;
};

struct PhaseStats {
  std::string name;      // "im2col", "gemm_forward", "col2im", "coord_grad", "gemm_weight", ...
  double ms = 0;         // wall time of the phase (device-synchronized on cuda)
  double bytes = 0;      // DRAM bytes the phase must move at least (reads + writes)
  double flops = 0;      // floating point operations
  double atomics = 0;    // atomic updates issued
  // Counting on (sim): what the phase's kernels did, from `counted_launches` simulated launches and
  // `modeled_gemms` GEMMs whose counters are the model of runtime/sim/sim_gemm.h.
  KernelCounters counters;
  uint64_t counted_launches = 0;
  uint64_t modeled_gemms = 0;
  bool has_counters() const { return counted_launches + modeled_gemms > 0; }
};

class PhaseSink {
 public:
  virtual ~PhaseSink() = default;
  virtual void record(const PhaseStats& stats) = 0;
};

// Times a scope on the host clock and records it, when a sink is present. `sync` runs before both
// clock reads (device synchronize on cuda) so the phase time is the device time. `totals` (null
// unless the device counts) is read at both ends: the phase's counters are the difference. The closing
// sync runs in the destructor, which must not throw (a throwing destructor ends the process, and during
// unwinding hides the error in flight): its failure goes to `*error` (when no error is there yet) for
// the owner to rethrow after the scope, and the phase is not recorded.
class ScopedPhase {
 public:
  ScopedPhase(PhaseSink* sink, const char* name, double bytes, double flops, double atomics = 0,
              std::function<void()> sync = {}, const CounterTotals* totals = nullptr,
              std::exception_ptr* error = nullptr)
      : sink_(sink), sync_(std::move(sync)), totals_(totals), error_(error) {
    if (!sink_) return;
    stats_.name = name;
    stats_.bytes = bytes;
    stats_.flops = flops;
    stats_.atomics = atomics;
    if (sync_) sync_();
    if (totals_) start_totals_ = *totals_;
    start_ = std::chrono::steady_clock::now();
  }
  ~ScopedPhase() noexcept {
    if (!sink_) return;
    try {
      if (sync_) sync_();
      stats_.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
      if (totals_) {
        stats_.counters = totals_->counters;
        stats_.counters -= start_totals_.counters;
        stats_.counted_launches = totals_->launches - start_totals_.launches;
        stats_.modeled_gemms = totals_->modeled_gemms - start_totals_.modeled_gemms;
      }
      sink_->record(stats_);
    } catch (...) {
      if (error_ && !*error_) *error_ = std::current_exception();
    }
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  PhaseSink* sink_;
  std::function<void()> sync_;
  const CounterTotals* totals_;
  CounterTotals start_totals_;
  std::exception_ptr* error_;
  PhaseStats stats_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dcnjit::detail
