#include "algorithms/im2col/im2col_algorithm.h"

#include <algorithm>

#include "algorithms/im2col/im2col_kernels.h"
#include "algorithms/im2col/im2col_knobs.h"
#include "algorithms/im2col/im2col_passes.h"
#include "algorithms/im2col/im2col_workspace.h"

namespace dcnjit::algo {

namespace {

class Im2colAlgorithm final : public Algorithm {
 public:
  Im2colAlgorithm(const detail::DeviceTraits& traits, const RunOptions& options)
      : traits_(traits), options_(options), knobs_(im2col::make_im2col_knobs(traits, options)) {}

  const std::string& name() const override { return name_; }
  const KnobTable& knobs() const override { return knobs_; }

  std::string cannot_implement(const Problem& problem) const override {
    if (problem.dtype == DType::f64 && traits_.backend == Backend::cuda)
      return "im2col: f64 runs on the cpu and sim backends; the cuda backend's GEMMs are f32, f16 and bf16";
    return {};
  }

  std::vector<gen::KernelSpec> kernels(const Problem& problem, const Config& config, Direction direction,
                                       const Gradients& gradients) const override {
    const im2col::Im2colKnobs k = im2col::Im2colKnobs::of(knobs_, config);
    if (direction == Direction::forward) return {im2col::forward_kernels(problem, k).im2col};
    const im2col::BackwardKernels b = im2col::backward_kernels(problem, k, gradients);
    std::vector<gen::KernelSpec> list;
    if (b.gather) list = {b.gather->count, b.gather->scan, b.gather->fill, b.gather->sort, b.gather->gather};
    list.insert(list.end(), b.sampling.begin(), b.sampling.end());
    // Each kernel once, in the order of its first launch (grad_x and grad_weight share one cast kernel).
    for (const auto& spec : {b.cast_x, b.im2col, b.cast_w, b.bias_grad})
      if (spec && std::find(list.begin(), list.end(), *spec) == list.end()) list.push_back(*spec);
    return list;
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    const im2col::Im2colKnobs k = im2col::Im2colKnobs::of(knobs_, config);
    return im2col::WorkspaceLayout::of(problem, k.step, k.gather ? k.threads : 0).total_bytes;
  }

  void forward(LaunchContext& context, const Problem& problem, const Config& config,
               const ForwardArgs& args) const override {
    im2col::run_forward(context, problem, im2col::Im2colKnobs::of(knobs_, config), args);
  }

  void backward(LaunchContext& context, const Problem& problem, const Config& config,
                const BackwardArgs& args) const override {
    im2col::run_backward(context, problem, im2col::Im2colKnobs::of(knobs_, config), args);
  }

 private:
  const std::string name_ = "im2col";
  detail::DeviceTraits traits_;
  RunOptions options_;
  KnobTable knobs_;
};

}  // namespace

std::unique_ptr<Algorithm> make_im2col_algorithm(const detail::DeviceTraits& traits, const RunOptions& options) {
  return std::make_unique<Im2colAlgorithm>(traits, options);
}

}  // namespace dcnjit::algo
