// A KernelDevice that records instead of running: which kernels were loaded and launched (with a copy
// of each parameter block), every GEMM descriptor, fills, allocations and synchronizations, in order.
// Tests of an algorithm's launch sequence run against it, without a GPU and without compiling.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/kernel_device.h"

namespace dcnjit::test {

struct RecordedLaunch {
  std::string name;
  detail::LaunchDims dims;
  std::vector<unsigned char> params;  // the parameter block as passed

  template <class Params>
  Params as() const {
    EXPECT_EQ(params.size(), sizeof(Params)) << name;
    Params p;
    std::memcpy(&p, params.data(), std::min(sizeof(Params), params.size()));
    return p;
  }
};

class RecordingDevice : public detail::KernelDevice {
 public:
  RecordingDevice() { device_traits.backend = Backend::sim; }

  void* allocate(std::size_t bytes) override {
    ++allocations;
    allocated_bytes = bytes;
    sequence.push_back("allocate");
    return reinterpret_cast<void*>(kScratch);  // never dereferenced
  }
  void release(void*) noexcept override { ++releases; }
  void fill_zero(void* pointer, std::size_t bytes) override {
    zeroed.push_back({pointer, bytes});
    sequence.push_back("fill_zero");
  }
  detail::LoadedKernel* load(const gen::KernelSource& kernel) override {
    loaded.push_back(kernel.name);
    kernels.push_back(std::make_unique<Kernel>(kernel.name, kernel.family));
    return kernels.back().get();
  }
  void launch(detail::LoadedKernel* kernel, const detail::LaunchDims& dims, const void* params,
              std::size_t bytes) override {
    const auto* k = static_cast<Kernel*>(kernel);
    RecordedLaunch l{k->name, dims, {}};
    l.params.assign(static_cast<const unsigned char*>(params), static_cast<const unsigned char*>(params) + bytes);
    launches.push_back(l);
    sequence.push_back("launch " + k->family);
  }
  void gemm(const detail::GemmDesc& desc) override {
    gemms.push_back(desc);
    sequence.push_back("gemm");
  }
  const detail::DeviceTraits& traits() const override { return device_traits; }
  void synchronize() override { ++syncs; }
  void set_stream(void* stream) override { streams.push_back(stream); }

  // The launches of kernels whose name starts with `prefix`.
  std::vector<const RecordedLaunch*> launches_of(const std::string& prefix) const {
    std::vector<const RecordedLaunch*> out;
    for (const RecordedLaunch& l : launches)
      if (l.name.rfind(prefix, 0) == 0) out.push_back(&l);
    return out;
  }

  static constexpr uintptr_t kScratch = 0x10000000;
  detail::DeviceTraits device_traits;  // what traits() reports; tests may change it
  int allocations = 0, releases = 0, syncs = 0;
  std::size_t allocated_bytes = 0;
  std::vector<std::pair<void*, std::size_t>> zeroed;
  std::vector<std::string> loaded, sequence;
  std::vector<RecordedLaunch> launches;
  std::vector<detail::GemmDesc> gemms;
  std::vector<void*> streams;

 private:
  struct Kernel : detail::LoadedKernel {
    Kernel(std::string n, std::string f) : name(std::move(n)), family(std::move(f)) {}
    std::string name, family;
  };
  std::vector<std::unique_ptr<Kernel>> kernels;
};

}  // namespace dcnjit::test
