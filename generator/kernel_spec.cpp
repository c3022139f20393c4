#include "generator/kernel_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "dcnjit/error.h"
#include "generator/config_space.h"

namespace dcnjit::gen {

const char* to_string(Pass pass) { return pass == Pass::forward ? "forward" : "backward"; }

Pass parse_pass(const std::string& text) {
  if (text == "forward") return Pass::forward;
  if (text == "backward") return Pass::backward;
  throw Error(ErrorCode::InvalidArgument, fmt::format("pass: '{}' is not one of forward, backward", text));
}

bool is_sampling_kernel(KernelKind kind) {
  return kind == KernelKind::im2col || kind == KernelKind::col2im || kind == KernelKind::coord ||
         kind == KernelKind::col2im_coord;
}

static bool uses_atomics(KernelKind kind) { return kind == KernelKind::col2im || kind == KernelKind::col2im_coord; }

std::string KernelSpec::name() const {
  std::string name = fmt::format("dcn_{}", gen::to_string(kind));
  if (is_sampling_kernel(kind)) {
    name += fmt::format("_k{}x{}_s{}x{}_d{}x{}_cpg{}_{}_{}", kh, kw, stride_h, stride_w, dilation_h, dilation_w,
                        channels_per_group, dcnjit::to_string(boundary), mask ? "mask" : "nomask");
  }
  name += fmt::format("_{}_{}_t{}", dcnjit::to_string(dtype), index64 ? "i64" : "i32", block_threads);
  if (kind != KernelKind::bias_grad) name += fmt::format("_e{}", elems_per_thread);
  if (uses_atomics(kind)) name += fmt::format("_a{}", dcnjit::to_string(atomic));
  return name;
}

KernelSpec KernelSpec::of(const Problem& problem, const Config& config, KernelKind kind) {
  KernelSpec spec;
  spec.kind = kind;
  spec.dtype = problem.dtype;
  spec.index64 = needs_64bit_index(problem, resolve_im2col_step(problem, config));
  spec.block_threads = config.block_threads;
  spec.elems_per_thread = kind == KernelKind::bias_grad ? 0 : config.elems_per_thread;
  if (is_sampling_kernel(kind)) {
    spec.kh = problem.kh;
    spec.kw = problem.kw;
    spec.stride_h = problem.stride_h;
    spec.stride_w = problem.stride_w;
    spec.dilation_h = problem.dilation_h;
    spec.dilation_w = problem.dilation_w;
    spec.channels_per_group = int(problem.C / problem.offset_groups);
    spec.boundary = problem.boundary;
    spec.mask = problem.mask;
    if (uses_atomics(kind)) spec.atomic = config.atomic;
  }
  return spec;
}

bool needs_64bit_index(const Problem& problem, int im2col_step) {
  // In double: the products are compared with 2^30 only, and a huge problem must not overflow.
  const double limit = double(1ll << 30);
  const double pixels = double(problem.Ho()) * double(problem.Wo());
  const double taps = problem.taps();
  const double N = double(problem.N), step = double(std::max(im2col_step, 1));
  const double C = double(problem.C), Co = double(problem.Co);
  const double sizes[] = {
      N * C * double(problem.H) * double(problem.W),             // x, grad_x
      N * 2 * double(problem.offset_groups) * taps * pixels,     // offset, grad_offset
      N * Co * pixels,                                           // y, grad_y
      step * C * taps * pixels,                                  // columns of one chunk
      step * Co * (C / double(problem.groups)) * taps,           // grad_weight partials of one chunk
  };
  return std::any_of(std::begin(sizes), std::end(sizes), [&](double s) { return s >= limit; });
}

}  // namespace dcnjit::gen
