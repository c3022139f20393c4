#include "runtime/sim/access_counter.h"

#include <algorithm>
#include <array>
#include <bit>

namespace dcnjit::sim {

using dcnjit_sim::AccessKind;
using dcnjit_sim::AccessRecord;
using dcnjit_sim::MemorySpace;

namespace {

constexpr uint64_t kSectorBytes = 32;
constexpr unsigned kBanks = 32;
constexpr unsigned kBankBytes = 4;
constexpr unsigned kWavefrontBytes = kBanks * kBankBytes;
constexpr unsigned kSectorBits = 40;  // key = region << 40 | sector (2^40 sectors = 32 TiB per region)

bool same_instruction(const AccessRecord& a, const AccessRecord& b) { return a.site == b.site && a.kind == b.kind; }

}  // namespace

LaunchCounting::LaunchCounting(std::vector<dcnjit_sim::MemoryRegion> regions) : regions_(std::move(regions)) {
  for (const auto& region : regions_) {
    first_word_.push_back(words_);
    const uint64_t sectors = (region.end - region.begin + kSectorBytes - 1) / kSectorBytes;
    words_ += (sectors + 63) / 64;
  }
  bits_ = std::make_unique<std::atomic<uint64_t>[]>(std::max<std::size_t>(words_, 1));
}

void LaunchCounting::mark_sector(uint32_t region, uint64_t sector) {
  std::atomic<uint64_t>& word = bits_[first_word_[region] + sector / 64];
  const uint64_t bit = uint64_t(1) << (sector % 64);
  // Most sectors are touched many times: read first, write only the first time.
  if (!(word.load(std::memory_order_relaxed) & bit)) word.fetch_or(bit, std::memory_order_relaxed);
}

uint64_t LaunchCounting::unique_sectors() const {
  uint64_t count = 0;
  for (std::size_t i = 0; i < words_; ++i) count += std::popcount(bits_[i].load(std::memory_order_relaxed));
  return count;
}

void AccessCounter::flush(const std::vector<Lane>& lanes, LaunchCounting& launch) {
  // Fast path: every lane that accessed memory ran the same sequence of instructions, so the k-th
  // access of each lane belongs to the k-th request.
  const Lane* reference = nullptr;
  bool uniform = true;
  for (const Lane& lane : lanes) {
    if (lane.log->size == 0) continue;
    if (!reference) {
      reference = &lane;
    } else if (lane.log->size != reference->log->size) {
      uniform = false;
      break;
    }
  }
  if (!reference) return;
  for (const Lane& lane : lanes) {
    if (!uniform) break;
    if (lane.log->size == 0 || &lane == reference) continue;
    for (uint32_t k = 0; k < lane.log->size; ++k)
      if (!same_instruction(lane.log->records[k], reference->log->records[k])) {
        uniform = false;
        break;
      }
  }

  if (uniform) {
    for (uint32_t k = 0; k < reference->log->size; ++k) {
      request_.clear();
      for (const Lane& lane : lanes) {
        if (lane.log->size == 0) continue;
        request_.push_back(lane.log->records[k]);
        request_.back().lane = uint8_t(lane.lane);
      }
      count_request(request_.data(), request_.size(), launch);
    }
  } else {
    // The k-th execution of each instruction (site and kind) by each lane.
    items_.clear();
    for (const Lane& lane : lanes) {
      const AccessRecord* records = lane.log->records;
      order_.resize(lane.log->size);
      for (uint32_t i = 0; i < lane.log->size; ++i) order_[i] = i;
      std::stable_sort(order_.begin(), order_.end(), [&](unsigned a, unsigned b) {
        return records[a].site != records[b].site ? records[a].site < records[b].site
                                                  : records[a].kind < records[b].kind;
      });
      uint32_t occurrence = 0;
      for (std::size_t i = 0; i < order_.size(); ++i) {
        occurrence = (i > 0 && same_instruction(records[order_[i]], records[order_[i - 1]])) ? occurrence + 1 : 0;
        const AccessRecord& record = records[order_[i]];
        items_.push_back(Item{record.site, record.kind, occurrence, &record, lane.lane});
      }
    }
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      if (a.site != b.site) return a.site < b.site;
      if (a.kind != b.kind) return a.kind < b.kind;
      if (a.occurrence != b.occurrence) return a.occurrence < b.occurrence;
      return a.lane < b.lane;
    });
    for (std::size_t begin = 0; begin < items_.size();) {
      std::size_t end = begin + 1;
      while (end < items_.size() && items_[end].site == items_[begin].site && items_[end].kind == items_[begin].kind &&
             items_[end].occurrence == items_[begin].occurrence)
        ++end;
      request_.clear();
      for (std::size_t i = begin; i < end; ++i) {
        request_.push_back(*items_[i].record);
        request_.back().lane = uint8_t(items_[i].lane);
      }
      count_request(request_.data(), request_.size(), launch);
      begin = end;
    }
  }
  for (const Lane& lane : lanes) lane.log->size = 0;
}

void AccessCounter::count_collective(const dcnjit_sim::CollectiveCall& call, LaunchCounting& launch) {
  counters_.mma_ops += call.mma_ops;
  counters_.flops += call.flops;
  // Each (site, kind) of the collective's records is one request.
  std::vector<AccessRecord>& records = collective_records_;
  records.assign(call.records, call.records + call.record_count);
  std::stable_sort(records.begin(), records.end(), [](const AccessRecord& a, const AccessRecord& b) {
    return a.site != b.site ? a.site < b.site : a.kind < b.kind;
  });
  for (std::size_t begin = 0; begin < records.size();) {
    std::size_t end = begin + 1;
    while (end < records.size() && same_instruction(records[end], records[begin])) ++end;
    count_request(records.data() + begin, end - begin, launch);
    begin = end;
  }
}

void AccessCounter::count_request(const AccessRecord* records, std::size_t count, LaunchCounting& launch) {
  // A generic-address instruction may hit both spaces: each space is its own request.
  std::size_t shared = 0;
  for (std::size_t i = 0; i < count; ++i) shared += records[i].space == MemorySpace::shared;
  if (shared == 0) return count_global(records, count, launch);
  if (shared == count) return count_shared(records, count);
  std::vector<AccessRecord> global_part, shared_part;
  for (std::size_t i = 0; i < count; ++i)
    (records[i].space == MemorySpace::shared ? shared_part : global_part).push_back(records[i]);
  count_global(global_part.data(), global_part.size(), launch);
  count_shared(shared_part.data(), shared_part.size());
}

uint64_t AccessCounter::distinct_addresses(const AccessRecord* records, std::size_t count) {
  keys_.clear();
  for (std::size_t i = 0; i < count; ++i) keys_.push_back(records[i].address);
  std::sort(keys_.begin(), keys_.end());
  return uint64_t(std::unique(keys_.begin(), keys_.end()) - keys_.begin());
}

void AccessCounter::count_global(const AccessRecord* records, std::size_t count, LaunchCounting& launch) {
  const AccessKind kind = records[0].kind;
  if (kind == AccessKind::atomic) counters_.atomic_conflicts += count - distinct_addresses(records, count);
  keys_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    const AccessRecord& r = records[i];
    const uintptr_t begin = launch.regions()[r.region].begin;
    const uint64_t first = (r.address - begin) / kSectorBytes;
    const uint64_t last = (r.address + std::max<uint32_t>(r.bytes, 1) - 1 - begin) / kSectorBytes;
    for (uint64_t sector = first; sector <= last; ++sector) keys_.push_back(uint64_t(r.region) << kSectorBits | sector);
  }
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  for (uint64_t key : keys_) launch.mark_sector(uint32_t(key >> kSectorBits), key & ((uint64_t(1) << kSectorBits) - 1));
  const uint64_t sectors = keys_.size();
  switch (kind) {
    case AccessKind::load:
      ++counters_.global_load_requests;
      counters_.global_load_sectors += sectors;
      break;
    case AccessKind::store:
      ++counters_.global_store_requests;
      counters_.global_store_sectors += sectors;
      break;
    case AccessKind::atomic:
      ++counters_.atomic_requests;
      counters_.atomic_sectors += sectors;
      break;
  }
}

void AccessCounter::count_shared(const AccessRecord* records, std::size_t count) {
  if (records[0].kind == AccessKind::atomic) {
    ++counters_.atomic_requests;
    counters_.atomic_conflicts += count - distinct_addresses(records, count);
    return;
  }
  ++counters_.shared_requests;
  // Lanes per 128-byte phase, from the widest access (rounded up to a power of two of words).
  unsigned words_per_lane = 1;
  for (std::size_t i = 0; i < count; ++i) {
    const uint64_t first = records[i].address / kBankBytes;
    const uint64_t last = (records[i].address + std::max<uint32_t>(records[i].bytes, 1) - 1) / kBankBytes;
    words_per_lane = std::max(words_per_lane, unsigned(last - first + 1));
  }
  words_per_lane = std::bit_ceil(words_per_lane);
  const unsigned lanes_per_phase = std::max(1u, kWavefrontBytes / kBankBytes / words_per_lane);
  // key = phase << 58 | word (words of user-space addresses fit in 46 bits).
  keys_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    const uint64_t phase = records[i].lane / lanes_per_phase;
    const uint64_t first = records[i].address / kBankBytes;
    const uint64_t last = (records[i].address + std::max<uint32_t>(records[i].bytes, 1) - 1) / kBankBytes;
    for (uint64_t word = first; word <= last; ++word) keys_.push_back(phase << 58 | (word & ((uint64_t(1) << 58) - 1)));
  }
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
  uint64_t wavefronts = 0, phases = 0;
  for (std::size_t begin = 0; begin < keys_.size();) {
    std::array<unsigned, kBanks> words_in_bank{};
    std::size_t end = begin;
    unsigned most = 0;
    while (end < keys_.size() && keys_[end] >> 58 == keys_[begin] >> 58) {
      most = std::max(most, ++words_in_bank[keys_[end] % kBanks]);
      ++end;
    }
    wavefronts += most;
    ++phases;
    begin = end;
  }
  counters_.shared_bank_conflicts += wavefronts - phases;
}

detail::KernelCounters AccessCounter::take() {
  detail::KernelCounters out = counters_;
  counters_ = {};
  return out;
}

}  // namespace dcnjit::sim
