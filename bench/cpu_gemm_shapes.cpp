// The cpu backend's GEMMs on their exact shapes, per library: what chose the GEMM library behind
// runtime/cpu/blas_gemm.h (docs/perf.md has the results).
//
//   build/bin/dcnjit_cpu_gemm_shapes [--threads 1,2] [--rounds 5]
//
// For each DCNv2 ResNet-50 3x3 layer (N=1: 128 channels 100x152, 256 channels 50x76, 512 channels
// 25x38) and each GEMM phase of a pass, it runs the calls the backend makes with its default config
// (runtime/cpu/dcn_cpu.cpp):
//   fwd    y^T (tile x Co) = columns (tile x 9C) * W'^T, one call per tile of `tile` pixels, W' packed once
//   dcol   dcol (tile x 9*128) = grad_y^T (tile x Co) * W'_b, one call per tile and block of 128 channels
//   wgrad  grad_W'_b (rows x 9*32) += grad_y rows (rows x span) * columns_b (span x 9*32), per block, 32
//          of its channels and `rows` output rows (weight_item_rows: max(128, Co * blocks / 4), at most
//          Co), accumulated over the spans of the image (runtime/cpu/dcn_cpu.h's constants)
//   wgrad/block  the same with a whole block's 9*128 columns per call (the split before 2026-11-25: the
//          comparison that chose the 32-channel pieces)
// Each call is single-threaded; with n threads, n std::threads take the calls first come first served
// (as the backend's pool does). Libraries: OpenBLAS (cblas_sgemm), BLIS (bli_sgemm, when built with
// it; BLIS 0.9 does not know Zen 5 and runs its generic kernels unless BLIS_ARCH_TYPE names a
// sub-configuration, e.g. BLIS_ARCH_TYPE=6 for zen3), oneDNN f32 and oneDNN bf16 (the backend's Gemm).
// The implementations alternate round-robin, `--rounds` times; the table reports the median over rounds
// of the wall time per pass and its GFLOP/s, and the process CPU time (robust to other processes' load).
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/dcn_cpu.h"
#include "runtime/cpu/dcn_cpu_kernels.h"

#ifdef DCNJIT_WITH_BLIS
#include <blis.h>
#endif

namespace {

using dcnjit::cpu::Bf16;
using dcnjit::cpu::Gemm;
using dcnjit::cpu::GemmLibrary;
using dcnjit::cpu::GemmShape;

struct Call {
  GemmShape shape;
  int64_t a_at, b_at, c_at;  // element offsets into the A, B, C buffers
};

struct Phase {
  std::string name;
  std::vector<Call> calls;
  int64_t a_size = 0, b_size = 0, c_size = 0;
  bool fixed_b = false;  // B is the same for every call (the weights): packed once
  double flops() const {
    double f = 0;
    for (const Call& c : calls) f += 2.0 * c.shape.m * c.shape.n * c.shape.k;
    return f;
  }
};

// The default tile of runtime/cpu/cpu_knobs.cpp and the backward span of runtime/cpu/dcn_cpu.cpp for
// these layers.
std::vector<Phase> phases_of(int64_t C, int64_t H, int64_t W, int64_t tile, int64_t span) {
  const int64_t P = H * W, K = 9, depth = C * K, Co = C, block = dcnjit::cpu::kChannelBlock, bd = block * K,
                blocks = C / block;
  std::vector<Phase> out;
  Phase fwd{"fwd", {}, tile * depth, depth * Co, tile * Co, true};
  for (int64_t p0 = 0; p0 < P; p0 += tile) {
    GemmShape s;
    s.m = std::min(tile, P - p0), s.n = Co, s.k = depth, s.lda = depth, s.ldb = Co, s.ldc = Co;
    fwd.calls.push_back({s, 0, 0, 0});
  }
  out.push_back(fwd);
  Phase dcol{"dcol", {}, P * Co, Co * depth, P * depth, true};
  for (int64_t p0 = 0; p0 < P; p0 += tile)
    for (int64_t b = 0; b < blocks; ++b) {
      GemmShape s;
      s.m = std::min(tile, P - p0), s.n = bd, s.k = Co, s.lda = Co, s.ldb = depth, s.ldc = bd;
      dcol.calls.push_back({s, p0 * Co, b * bd, b * P * bd + p0 * bd});
    }
  out.push_back(dcol);
  Phase wgrad{"wgrad", {}, Co * span, span * depth, Co * depth, false};
  Phase wgrad_block{"wgrad/block", {}, Co * span, span * depth, Co * depth, false};
  const int64_t rows = dcnjit::cpu::weight_item_rows(Co, blocks);
  for (Phase* phase : {&wgrad, &wgrad_block}) {
    const int64_t piece = phase == &wgrad ? dcnjit::cpu::kWeightChannels * K : bd;
    for (int64_t p0 = 0; p0 < P; p0 += span)
      for (int64_t b = 0; b < blocks; ++b)
        for (int64_t c0 = 0; c0 < bd; c0 += piece)
          for (int64_t r0 = 0; r0 < Co; r0 += rows) {
            GemmShape s;
            const int64_t sw = std::min(span, P - p0);
            s.m = std::min(rows, Co - r0), s.n = piece, s.k = sw, s.lda = sw, s.ldb = bd, s.ldc = bd;
            s.accumulate = true;
            phase->calls.push_back({s, r0 * sw, b * sw * bd + c0, b * Co * bd + r0 * bd + c0});
          }
  }
  out.push_back(wgrad);
  out.push_back(wgrad_block);
  return out;
}

double process_cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

// Runs f(i) for i in [0, count) on `threads` threads, first come first served.
void parallel(int threads, int64_t count, const std::function<void(int64_t)>& f) {
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i; (i = next++) < count;) f(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// One library's way of running a phase's calls.
struct Implementation {
  std::string name;
  std::function<void(const Phase&, int threads)> run;
};

template <typename In>
Implementation seam(const char* name, GemmLibrary library, const std::vector<In>& a, const std::vector<In>& b,
                    const std::vector<float>& b_source, std::vector<float>& c) {
  // Gemm objects per distinct shape, built (and B packed) outside the timing, as the backend builds
  // them once per pass.
  using Gemms = std::vector<Gemm<In, float>>;
  auto cache = std::make_shared<std::map<const Phase*, std::unique_ptr<Gemms>>>();
  return {name, [=, &a, &b, &b_source, &c](const Phase& phase, int threads) {
            std::unique_ptr<Gemms>& gemms = (*cache)[&phase];
            if (!gemms) {
              gemms = std::make_unique<Gemms>();
              for (const Call& call : phase.calls) {
                if (phase.fixed_b)
                  gemms->emplace_back(library, call.shape, b_source.data() + call.b_at, nullptr, 0);
                else
                  gemms->emplace_back(library, call.shape);
              }
              return;  // the first run only builds
            }
            parallel(threads, int64_t(phase.calls.size()), [&](int64_t i) {
              const Call& call = phase.calls[std::size_t(i)];
              (*gemms)[std::size_t(i)].run(a.data() + call.a_at, b.data() + call.b_at, c.data() + call.c_at);
            });
          }};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> thread_counts{1, 2};
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rounds") {
      rounds = std::max(1, std::stoi(value));
    } else if (flag == "--threads") {
      thread_counts.clear();
      for (std::size_t at = 0; at < value.size();) {
        const std::size_t comma = value.find(',', at);
        thread_counts.push_back(std::stoi(value.substr(at, comma - at)));
        at = comma == std::string::npos ? value.size() : comma + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--rounds 5]\n", argv[0]);
      return 2;
    }
  }
  dcnjit::cpu::pin_blas_to_one_thread();
#ifdef DCNJIT_WITH_BLIS
  bli_thread_set_num_threads(1);
  std::printf("BLIS sub-configuration: %s\n", bli_arch_string(bli_arch_query_id()));
#endif
  struct Layer {
    int64_t C, H, W, tile, span;
  };
  // tile: runtime/cpu/cpu_knobs.cpp's default; span: runtime/cpu/dcn_cpu.cpp's for f32 at that tile.
  const Layer layers[] = {{128, 100, 152, 256, 1536}, {256, 50, 76, 128, 768}, {512, 25, 38, 64, 384}};
  std::printf("| layer | phase | calls | threads | OpenBLAS ms (GFLOP/s) [CPU ms] |%s oneDNN f32 | oneDNN bf16 |\n",
#ifdef DCNJIT_WITH_BLIS
              " BLIS |"
#else
              ""
#endif
  );
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (const Layer& l : layers) {
    for (const Phase& phase : phases_of(l.C, l.H, l.W, l.tile, l.span)) {
      std::vector<float> a(std::size_t(phase.a_size)), b(std::size_t(phase.b_size)), c(std::size_t(phase.c_size));
      for (float& v : a) v = dist(rng);
      for (float& v : b) v = dist(rng);
      std::vector<Bf16> a16(a.size()), b16(b.size());
      for (std::size_t i = 0; i < a.size(); ++i) a16[i] = dcnjit::cpu::to_bf16(a[i]);
      for (std::size_t i = 0; i < b.size(); ++i) b16[i] = dcnjit::cpu::to_bf16(b[i]);
      std::vector<Implementation> impls;
      impls.push_back(seam<float>("OpenBLAS", GemmLibrary::openblas, a, b, b, c));
#ifdef DCNJIT_WITH_BLIS
      impls.push_back({"BLIS", [&](const Phase& ph, int threads) {
                         parallel(threads, int64_t(ph.calls.size()), [&](int64_t i) {
                           const Call& call = ph.calls[std::size_t(i)];
                           const GemmShape& s = call.shape;
                           float one = 1.0f, beta = s.accumulate ? 1.0f : 0.0f;
                           bli_sgemm(BLIS_NO_TRANSPOSE, s.b_transposed ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.m, s.n,
                                     s.k, &one, a.data() + call.a_at, s.lda, 1, b.data() + call.b_at, s.ldb, 1, &beta,
                                     c.data() + call.c_at, s.ldc, 1);
                         });
                       }});
#endif
      impls.push_back(seam<float>("oneDNN f32", GemmLibrary::onednn, a, b, b, c));
      if (dcnjit::cpu::cpu_has_native_bf16())
        impls.push_back(seam<Bf16>("oneDNN bf16", GemmLibrary::onednn, a16, b16, b, c));
      for (const Implementation& impl : impls) impl.run(phase, 1);  // build, then warm up
      for (const Implementation& impl : impls) impl.run(phase, 1);
      for (int threads : thread_counts) {
        std::vector<std::vector<double>> wall(impls.size()), cpu(impls.size());
        for (int r = 0; r < rounds; ++r)
          for (std::size_t i = 0; i < impls.size(); ++i) {
            const double c0 = process_cpu_ms();
            const auto t0 = std::chrono::steady_clock::now();
            impls[i].run(phase, threads);
            wall[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            cpu[i].push_back(process_cpu_ms() - c0);
          }
        std::printf("| C%lld %lldx%lld | %s | %zu | %d |", (long long)l.C, (long long)l.H, (long long)l.W,
                    phase.name.c_str(), phase.calls.size(), threads);
        for (std::size_t i = 0; i < impls.size(); ++i) {
          std::sort(wall[i].begin(), wall[i].end());
          std::sort(cpu[i].begin(), cpu[i].end());
          const double ms = wall[i][wall[i].size() / 2];
          std::printf(" %.1f (%.0f) [%.1f] |", ms, phase.flops() / ms / 1e6, cpu[i][cpu[i].size() / 2]);
        }
        std::printf("\n");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
