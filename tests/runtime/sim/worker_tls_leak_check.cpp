// Under ASan+LSan: worker threads touch a thread_local of a dlopen'ed library (as the sim's workers
// do with a kernel library), then a leak check scans every thread. The check must finish and find
// no leak; with GCC <= 13's default __tls_get_addr interception it faults instead (see
// tests/CMakeLists.txt). Exit status 0 on success; a fault or fatal error is the failure.
#include <dlfcn.h>
#include <sanitizer/lsan_interface.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <module.so>\n", argv[0]);
    return 2;
  }
  void* module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  using Touch = std::uint32_t* (*)();
  const auto touch = reinterpret_cast<Touch>(dlsym(module, "touch_block_index"));
  if (!touch) {
    std::fprintf(stderr, "dlsym: %s\n", dlerror());
    return 2;
  }

  // The workers stay alive (holding their TLS blocks) while the leak check stops and scans them.
  constexpr int kWorkers = 2;
  std::mutex mutex;
  std::condition_variable changed;
  int touched = 0;
  bool checked = false;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&] {
      touch();
      std::unique_lock lock(mutex);
      ++touched;
      changed.notify_all();
      changed.wait(lock, [&] { return checked; });
    });
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return touched == kWorkers; });
  }
  const int leaks = __lsan_do_recoverable_leak_check();
  {
    std::lock_guard lock(mutex);
    checked = true;
  }
  changed.notify_all();
  for (std::thread& worker : workers) worker.join();
  std::printf("leak check over %d workers with dynamic TLS: %s\n", kWorkers, leaks ? "leaks" : "no leaks");
  return leaks ? 1 : 0;
}
