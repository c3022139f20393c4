// The engine side of the sim's GPU counters (runtime/sim/README.md "Counters"): turns the access
// logs of a warp's lanes (simt_counters.h) into warp-level requests at a convergence point and counts
// what each request costs a GPU: 32-byte sectors of global memory, shared-memory bank conflicts,
// same-address atomic conflicts.
//
// Grouping rule. Between two convergence points of a warp (a __syncthreads, a warp collective the
// lanes take part in, the end of the block), the k-th execution of an instruction by one lane and
// the k-th execution of the same instruction by the other lanes form one request. An instruction is
// its site: the return address of the instrumentation call, so each inlined copy of a helper is its
// own instruction. Under uniform control flow this is exactly the GPU's grouping. Under divergence it
// is the grouping of a GPU that reconverges after every branch: lanes that run the same instruction
// on different paths (a helper called out of line from both sides of a branch) or at different loop
// trip counts still share requests, where the hardware may issue them separately.
//
// Cost model of a request:
//   global    sectors = distinct 32-byte sectors of the bytes its lanes access, sectors numbered from
//             the start of their region (a GPU allocation starts 256-byte aligned, a host one may not);
//   shared    32 banks of 4 bytes. Lanes are split into phases of 128 bytes (32 lanes of <= 4 bytes,
//             16 of 8, 8 of 16); a phase takes as many wavefronts as the most distinct 4-byte words
//             any one bank serves (equal words are broadcast); conflicts = wavefronts - phases;
//   atomics   conflicts = lanes - distinct addresses; sectors as for global.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/phases.h"
#include "runtime/sim/shim/simt_abi.h"

namespace dcnjit::sim {

// What all workers of a counting launch share: the global regions, and per region a bitmap of the
// sectors touched, for global_unique_sectors.
class LaunchCounting {
 public:
  explicit LaunchCounting(std::vector<dcnjit_sim::MemoryRegion> regions);

  const std::vector<dcnjit_sim::MemoryRegion>& regions() const { return regions_; }
  // Sets the bit of sector `sector` (numbered from the region's start) of region `region`.
  void mark_sector(uint32_t region, uint64_t sector);
  uint64_t unique_sectors() const;

 private:
  std::vector<dcnjit_sim::MemoryRegion> regions_;
  std::vector<std::size_t> first_word_;  // region -> its first word in bits_
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
  std::size_t words_ = 0;
};

// One per worker: counts the requests of the warps it runs into KernelCounters.
class AccessCounter {
 public:
  struct Lane {
    unsigned lane;
    dcnjit_sim::AccessLog* log;
  };

  // Counts the requests in the logs of `lanes` (lanes of one warp at a convergence point) and empties
  // the logs.
  void flush(const std::vector<Lane>& lanes, LaunchCounting& launch);
  // Counts the accesses a collective logged for its lanes (records carry their lanes) and its MMAs.
  void count_collective(const dcnjit_sim::CollectiveCall& call, LaunchCounting& launch);
  void count_barrier() { ++counters_.barriers; }

  // What this worker counted since the last take(); global_unique_sectors is the launch's business.
  detail::KernelCounters take();

 private:
  struct Item {
    uintptr_t site;
    dcnjit_sim::AccessKind kind;
    uint32_t occurrence;
    const dcnjit_sim::AccessRecord* record;
    unsigned lane;
  };
  // One request: records of the same instruction, each from a different lane (in `lane`).
  void count_request(const dcnjit_sim::AccessRecord* records, std::size_t count, LaunchCounting& launch);
  void count_global(const dcnjit_sim::AccessRecord* records, std::size_t count, LaunchCounting& launch);
  void count_shared(const dcnjit_sim::AccessRecord* records, std::size_t count);
  uint64_t distinct_addresses(const dcnjit_sim::AccessRecord* records, std::size_t count);

  detail::KernelCounters counters_;
  // Scratch, kept between calls.
  std::vector<dcnjit_sim::AccessRecord> request_;
  std::vector<dcnjit_sim::AccessRecord> collective_records_;
  std::vector<Item> items_;
  std::vector<uint64_t> keys_;
  std::vector<unsigned> order_;
};

}  // namespace dcnjit::sim
