#include "tuner/measurement.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "core/checked_size.h"
#include "core/half.h"
#include "core/host_memory.h"

namespace dcnjit::tuner {

namespace {

// Past this many bytes per input set, rotation is pointless (no cache holds it) and costs memory.
constexpr std::size_t kRotateBelowBytes = std::size_t(256) << 20;

std::size_t bytes_per_set(const Problem& p) {
  // In double: each tensor fits in 64 bits (Problem::validate), their sum need not.
  const double og_taps = double(p.offset_groups) * p.taps();
  const double out = double(p.N) * p.Ho() * p.Wo();
  const double elements = double(p.N) * p.C * p.H * p.W * 2      // x, grad_x
                          + out * og_taps * 3 * 2                 // offset, mask and their gradients
                          + double(p.Co) * (p.C / p.groups) * p.taps() * 2 + double(p.Co) * 2  // weight, bias, grads
                          + out * p.Co * 2;                       // y, grad_y
  return std::size_t(std::min(elements * double(dtype_size(p.dtype)), 1e18));
}

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

// Input and output tensors of one set.
struct PassInputs::Set {
  TensorRef x, offset, mask, weight, bias, y, grad_y;
  TensorRef grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
};

PassInputs::PassInputs(detail::BackendImpl& backend, const Problem& problem, uint64_t seed)
    : backend_(backend), problem_(problem) {
  const Problem& p = problem;
  const int set_count = bytes_per_set(p) < kRotateBelowBytes ? 2 : 1;
  const int64_t og_taps = int64_t(p.offset_groups) * p.taps();
  const DType dt = p.dtype;
  const Device dev = backend.device();
  try {
    for (int s = 0; s < set_count; ++s) {
      auto set = std::make_unique<Set>();
      const uint64_t base = seed + uint64_t(s) * 101;
      auto tensor = [&](const char* name, std::initializer_list<int64_t> shape, float low, float high,
                        bool signed_values, int salt) {
        const std::size_t n = std::size_t(detail::checked_product(name, shape));
        return TensorRef::contiguous(upload_random(name, n, low, high, signed_values, base + salt), dt, dev, shape);
      };
      // Magnitudes in [0.1, 1] with random sign: never zero, so no backend can shortcut the work.
      set->x = tensor("x", {p.N, p.C, p.H, p.W}, 0.1f, 1.0f, true, 1);
      // Offsets of trained DCNs are mostly within a few pixels; +-2.5 covers interior, border and
      // out-of-image samples and non-integer positions.
      set->offset = tensor("offset", {p.N, 2 * og_taps, p.Ho(), p.Wo()}, 0.05f, 2.5f, true, 2);
      if (p.mask) set->mask = tensor("mask", {p.N, og_taps, p.Ho(), p.Wo()}, 0.1f, 1.0f, false, 3);
      set->weight = tensor("weight", {p.Co, p.C / p.groups, p.kh, p.kw}, 0.1f, 1.0f, true, 4);
      if (p.bias) set->bias = tensor("bias", {p.Co}, 0.1f, 1.0f, true, 5);
      set->y = tensor("y", {p.N, p.Co, p.Ho(), p.Wo()}, 0.1f, 1.0f, true, 6);
      set->grad_y = tensor("grad_y", {p.N, p.Co, p.Ho(), p.Wo()}, 0.1f, 1.0f, true, 7);
      set->grad_x = tensor("grad_x", {p.N, p.C, p.H, p.W}, 0.1f, 1.0f, true, 8);
      set->grad_offset = tensor("grad_offset", {p.N, 2 * og_taps, p.Ho(), p.Wo()}, 0.1f, 1.0f, true, 9);
      if (p.mask) set->grad_mask = tensor("grad_mask", {p.N, og_taps, p.Ho(), p.Wo()}, 0.1f, 1.0f, true, 10);
      set->grad_weight = tensor("grad_weight", {p.Co, p.C / p.groups, p.kh, p.kw}, 0.1f, 1.0f, true, 11);
      set->grad_bias = tensor("grad_bias", {p.Co}, 0.1f, 1.0f, true, 12);
      sets_.push_back(std::move(set));
    }
  } catch (...) {
    for (void* a : allocations_) backend_.release(a);
    throw;
  }
}

PassInputs::~PassInputs() {
  for (void* a : allocations_) backend_.release(a);
}

void* PassInputs::upload_random(const char* name, std::size_t elements, float low, float high, bool signed_values,
                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> magnitude(low, high);
  std::bernoulli_distribution negative(0.5);
  const std::size_t element_bytes = dtype_size(problem_.dtype);
  const std::size_t bytes = detail::checked_bytes(name, int64_t(elements), element_bytes);
  std::vector<unsigned char> host =
      detail::allocate_host(name, bytes, [&] { return std::vector<unsigned char>(bytes); });
  for (std::size_t i = 0; i < elements; ++i) {
    float v = magnitude(rng);
    if (signed_values && negative(rng)) v = -v;
    if (problem_.dtype == DType::f32) {
      std::memcpy(host.data() + i * 4, &v, 4);
    } else {
      const uint16_t h = problem_.dtype == DType::f16 ? float_to_half(v) : float_to_bf16(v);
      std::memcpy(host.data() + i * 2, &h, 2);
    }
  }
  void* device = nullptr;
  try {
    device = backend_.allocate(host.size());
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", name, e.what()));
  }
  allocations_.push_back(device);
  backend_.copy_to_device(device, host.data(), host.size());
  return device;
}

void PassInputs::run(Pass pass, const Config& config, int set_index, void* workspace, std::size_t workspace_bytes) {
  const Set& s = *sets_[std::size_t(set_index) % sets_.size()];
  if (pass == Pass::forward) {
    ForwardArgs args;
    args.x = s.x, args.offset = s.offset, args.mask = s.mask, args.weight = s.weight, args.bias = s.bias;
    args.y = s.y;
    args.workspace = workspace, args.workspace_bytes = workspace_bytes;
    backend_.forward(problem_, config, args);
    return;
  }
  // Exactly the gradients the pass names (tuner/pass.h): which ones are requested decides which
  // kernels run (e.g. the fused col2im+coord kernel only when grad_x and grad_offset both are).
  const PassOutputs wanted = outputs_of(pass, problem_);
  BackwardArgs args;
  args.x = s.x, args.offset = s.offset, args.mask = s.mask, args.weight = s.weight, args.grad_y = s.grad_y;
  args.workspace = workspace, args.workspace_bytes = workspace_bytes;
  if (wanted.grad_x) args.grad_x = s.grad_x;
  if (wanted.grad_offset) args.grad_offset = s.grad_offset;
  if (wanted.grad_mask) args.grad_mask = s.grad_mask;
  if (wanted.grad_weight) args.grad_weight = s.grad_weight;
  if (wanted.grad_bias) args.grad_bias = s.grad_bias;
  backend_.backward(problem_, config, args);
}

Measurement measure(detail::BackendImpl& backend, PassInputs& inputs, const Problem& problem, Pass pass,
                    const Config& config, const MeasureOptions& options) {
  Measurement result;
  void* workspace = nullptr;
  try {
    const std::size_t workspace_bytes = backend.workspace_size(problem, config);
    if (workspace_bytes) workspace = backend.allocate(workspace_bytes);
    // Warm-up: compiles or loads the kernels, faults in pages, and tells how long one run takes.
    backend.synchronize();
    auto start = Clock::now();
    inputs.run(pass, config, 0, workspace, workspace_bytes);
    backend.synchronize();
    const double warm_ms = elapsed_ms(start);
    // One more untimed run gives a compile-free estimate for sizing the repeats.
    start = Clock::now();
    inputs.run(pass, config, 1, workspace, workspace_bytes);
    backend.synchronize();
    const double estimate_ms = std::max(1e-3, std::min(warm_ms, elapsed_ms(start)));
    const int repeats = std::clamp(int(options.max_seconds * 1e3 / estimate_ms), options.min_repeats,
                                   options.max_repeats);
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
      // Host clock around a synchronized run: the backend interface has no device events, and a
      // synchronize on both sides makes the host interval the device interval plus launch overhead.
      backend.synchronize();
      start = Clock::now();
      inputs.run(pass, config, r, workspace, workspace_bytes);
      backend.synchronize();
      times.push_back(elapsed_ms(start));
    }
    std::nth_element(times.begin(), times.begin() + std::ptrdiff_t(times.size() / 2), times.end());
    result.ok = true;
    result.median_ms = times[times.size() / 2];
    result.repeats = repeats;
  } catch (const Error& e) {
    result.ok = false;
    result.error = e.what();
    result.device_lost = e.code() == ErrorCode::DeviceLost;
  } catch (const std::exception& e) {
    result.ok = false;
    result.error = e.what();
  }
  if (workspace) backend.release(workspace);
  return result;
}

}  // namespace dcnjit::tuner
