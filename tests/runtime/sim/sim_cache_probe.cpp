// A second process for the binary-cache tests (kernel_library_cache_test.cpp): loads the probe
// kernel of a tag through a SimKernelDevice whose binary cache is the given file, runs it and prints
// "compilations=<n> disk_hits=<n>" (host compiler runs; kernels found in the cache file).
//
//   sim_cache_probe <binaries.sqlite> <tag>
//
// Exit status 0 when the kernel computed the right values, 1 when not, 2 on a usage error.
#include <fmt/format.h>

#include <exception>
#include <memory>

#include "runtime/binary_cache.h"
#include "runtime/sim/sim_kernel_device.h"
#include "tests/runtime/sim/cache_probe_kernel.h"

int main(int argc, char** argv) {
  using namespace dcnjit;
  if (argc != 3) {
    fmt::print(stderr, "usage: sim_cache_probe <binaries.sqlite> <tag>\n");
    return 2;
  }
  try {
    auto cache = std::make_shared<detail::BinaryCache>(argv[1]);
    sim::SimKernelDevice device(
        sim::SimOptions{.threads = 1, .order = sim::ThreadOrder::in_order(), .binary_cache = cache});
    const bool correct = sim::testing::run_cache_probe(device, argv[2]);
    fmt::print("compilations={} disk_hits={}\n", device.library().compilations(), cache->stats().disk_hits);
    if (!correct) fmt::print("the probe kernel computed wrong values\n");
    return correct ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print("error: {}\n", e.what());
    return 1;
  }
}
