#include "algorithms/fused/fused_algorithm.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "algorithms/fused/fused_kernels.h"
#include "algorithms/fused/fused_knobs.h"
#include "algorithms/fused/fused_passes.h"
#include "algorithms/fused/fused_workspace.h"

namespace dcnjit::algo {

namespace {

constexpr int64_t kMaxGridYZ = 65535;

class FusedAlgorithm final : public Algorithm {
 public:
  FusedAlgorithm(const detail::DeviceTraits& traits, const RunOptions& options)
      : traits_(traits), options_(options), knobs_(fused::make_fused_knobs(traits, options)) {}

  const std::string& name() const override { return name_; }
  const KnobTable& knobs() const override { return knobs_; }

  std::string cannot_implement(const Problem& problem) const override {
    if (problem.dtype == DType::f64)
      return "fused: f64 has no tensor-core or FFMA tile path (the im2col algorithm runs it)";
    const int64_t chunks_limit = kMaxGridYZ;
    const int64_t segments = problem.C / fused::chunk_segment(problem);
    if (segments > chunks_limit || problem.taps() > kMaxGridYZ || problem.Co / problem.groups > 32 * kMaxGridYZ ||
        problem.groups * 16 > kMaxGridYZ)
      return fmt::format("fused: the problem's channel or group counts exceed the grid's y/z limit of {}", kMaxGridYZ);
    const int64_t pixels = problem.N * problem.Ho() * problem.Wo();
    if ((pixels + 31) / 32 > int64_t(traits_.max_grid_x))
      return fmt::format("fused: {} pixels exceed the grid's x limit", pixels);
    return {};
  }

  std::vector<gen::KernelSpec> kernels(const Problem& problem, const Config& config, Direction direction,
                                       const Gradients& gradients) const override {
    const fused::KernelContext context = this->context(problem, config);
    if (direction == Direction::forward) {
      const fused::ForwardKernels f = fused::forward_kernels(context);
      return {f.weights, f.forward};
    }
    const fused::BackwardKernels b = fused::backward_kernels(context, gradients);
    std::vector<gen::KernelSpec> list;
    std::vector<std::optional<gen::KernelSpec>> launched = {b.weights, b.data_gradient, b.coord_reduce};
    if (b.gather)
      for (const gen::KernelSpec& spec : {b.gather->count, b.gather->scan, b.gather->fill, b.gather->sort,
                                          b.gather->gather})
        launched.push_back(spec);
    for (const auto& spec : {b.cast_x, b.weight_gradient, b.weight_reduce, b.bias_grad}) launched.push_back(spec);
    for (const auto& spec : launched)
      if (spec && std::find(list.begin(), list.end(), *spec) == list.end()) list.push_back(*spec);
    return list;
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    return fused::WorkspaceLayout::of(problem, fused::FusedKnobs::of(knobs_, config)).total_bytes;
  }

  void forward(LaunchContext& context, const Problem& problem, const Config& config,
               const ForwardArgs& args) const override {
    fused::run_forward(context, problem, fused::FusedKnobs::of(knobs_, config), args);
  }

  void backward(LaunchContext& context, const Problem& problem, const Config& config,
                const BackwardArgs& args) const override {
    fused::run_backward(context, problem, fused::FusedKnobs::of(knobs_, config), args);
  }

 private:
  fused::KernelContext context(const Problem& problem, const Config& config) const {
    return fused::kernel_context(problem, fused::FusedKnobs::of(knobs_, config),
                                 fused::mma_kind(problem.dtype, options_));
  }

  const std::string name_ = "fused";
  detail::DeviceTraits traits_;
  RunOptions options_;
  KnobTable knobs_;
};

}  // namespace

std::unique_ptr<Algorithm> make_fused_algorithm(const detail::DeviceTraits& traits, const RunOptions& options) {
  return std::make_unique<FusedAlgorithm>(traits, options);
}

}  // namespace dcnjit::algo
