// Keeps test_runtime_sim (and the processes it starts) out of the user's caches: before any test
// runs, the binary cache, the tuning database and the sim's work directory are pointed into the
// build tree (DCNJIT_SIM_TEST_CACHE_DIR, set by tests/runtime/sim/CMakeLists.txt). That directory is
// shared by the test processes ctest starts, so a kernel is compiled once per build, not once per
// test; tests of the cache itself use scratch directories of their own.
#include <stdlib.h>

#include <string>

namespace {

#ifndef DCNJIT_SIM_TEST_CACHE_DIR
#error "DCNJIT_SIM_TEST_CACHE_DIR must name the test cache directory"
#endif

// A static initializer rather than a gtest Environment: the variables must be set before anything
// creates a backend, including test discovery and static objects.
struct TestCacheLocation {
  TestCacheLocation() {
    const std::string root = DCNJIT_SIM_TEST_CACHE_DIR;
    setenv("DCNJIT_CACHE", (root + "/tuning.sqlite").c_str(), 1);  // binaries.sqlite goes beside it
    setenv("XDG_CACHE_HOME", (root + "/xdg").c_str(), 1);
    setenv("DCNJIT_SIM_WORK_DIR", (root + "/work").c_str(), 1);
  }
} const test_cache_location;

}  // namespace
