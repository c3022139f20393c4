// dcnjit_bench: Google Benchmark suite, forward and backward per backend over the tuning presets
// (tuner/presets.h). Benchmarks are named <pass>/<backend>/<preset>/<index> and labelled with the
// problem, e.g. `--benchmark_filter=backward/cpu/dcnv2-r50`.
//
//   cpu   every preset problem
//   sim   only the first smoke problem: sim runs the generated CUDA on the host to check it, not for speed
//   cuda  every preset problem; without a GPU (or a build without the cuda backend) each one is
//         skipped with the reason
//
// Each iteration is one synchronized pass timed by the same Session as `dcnjit bench`
// (UseManualTime), after one untimed warm-up. GFLOP/s counts GEMM work only (2 x MACs per GEMM; the
// backward runs two GEMMs), so it compares directly with a dense convolution's rate; the counter
// is FLOPS, printed with an SI prefix (FLOPS=57.3G/s).
// Extra flag: --dcnjit_threads=N (CPU threads of the cpu/sim backends, default 0 = all cores).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "tools/profile/session.h"
#include "tools/profile/workload.h"
#include "tuner/presets.h"

namespace dcnjit::bench {
namespace {

using profile::Pass;

int g_threads = 0;

// One Session per backend for the whole run: creating a cuda backend (context, cuBLASLt) is not
// something each benchmark should pay. A backend that cannot be created is remembered with the reason.
struct SessionSlot {
  std::unique_ptr<profile::Session> session;
  std::string error;
};

SessionSlot& session_for(Backend backend) {
  static std::map<Backend, SessionSlot> slots;
  auto [it, inserted] = slots.try_emplace(backend);
  if (inserted) {
    EngineOptions options;
    options.backend = backend;
    options.threads = g_threads;
    options.tuning = TuningPolicy::cache_only;  // what a user's Engine runs; never tunes here
    try {
      it->second.session = std::make_unique<profile::Session>(options);
    } catch (const Error& e) {
      it->second.error = fmt::format("{} backend unavailable: {}", to_string(backend), e.what());
    }
  }
  return it->second;
}

void run_pass(benchmark::State& state, Backend backend, Problem problem, Pass pass) {
  SessionSlot& slot = session_for(backend);
  if (!slot.session) {
    state.SkipWithError(slot.error.c_str());
    return;
  }
  profile::Session& session = *slot.session;
  try {
    const Config config = session.chosen_config(problem, pass);
    const profile::Workload workload = session.workload(profile::random_inputs(problem));
    session.run_once(problem, config, workload, pass);  // warm-up: JIT compile, page faults, thread pool
    for (auto _ : state) state.SetIterationTime(session.run_once(problem, config, workload, pass) / 1e3);
    state.SetLabel(fmt::format("{} | {}", problem.to_string(), config.to_string()));
    // Shown as e.g. "FLOPS=57.3G/s": Google Benchmark scales the per-second rate with SI prefixes.
    state.counters["FLOPS"] =
        benchmark::Counter(profile::gemm_flops(problem, pass), benchmark::Counter::kIsIterationInvariantRate);
  } catch (const Error& e) {
    state.SkipWithError(e.what());
  }
}

void register_benchmarks() {
  for (const tuner::Preset& preset : tuner::presets()) {
    for (std::size_t i = 0; i < preset.problems.size(); ++i) {
      const Problem& problem = preset.problems[i];
      for (Backend backend : {Backend::cpu, Backend::sim, Backend::cuda}) {
        if (backend == Backend::sim && !(std::strcmp(preset.name, "smoke") == 0 && i == 0)) continue;
        for (Pass pass : {Pass::forward, Pass::backward}) {
          const std::string name = fmt::format("{}/{}/{}/{}", to_string(pass), to_string(backend), preset.name, i);
          benchmark::RegisterBenchmark(name.c_str(), run_pass, backend, problem, pass)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
}

// Takes --dcnjit_threads=N out of argv before Google Benchmark sees (and rejects) it.
void take_own_flags(int& argc, char** argv) {
  const char* prefix = "--dcnjit_threads=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) g_threads = std::atoi(argv[i] + std::strlen(prefix));
    else argv[kept++] = argv[i];
  }
  argc = kept;
}

}  // namespace
}  // namespace dcnjit::bench

int main(int argc, char** argv) {
  dcnjit::bench::take_own_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  dcnjit::bench::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
