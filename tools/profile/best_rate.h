// How the measured peaks are timed (peaks.cpp, arithmetic_ceiling.cpp): the best rate over a few runs
// of work that several threads do at once.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace dcnjit::profile {

// Runs `work(t)` for t = 0 .. threads - 1 at once (t = 0 on the calling thread): `warmups` untimed
// runs, then `trials` timed ones. Returns the best `amount` (what one whole run does: bytes, FLOPs)
// per second, in billions.
template <typename Work>
double best_rate(int threads, int warmups, int trials, double amount, Work&& work) {
  double best = 0;
  for (int run = 0; run < warmups + trials; ++run) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back([&work, t] { work(t); });
    work(0);
    for (auto& w : workers) w.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run >= warmups) best = std::max(best, amount / seconds / 1e9);
  }
  return best;
}

}  // namespace dcnjit::profile
