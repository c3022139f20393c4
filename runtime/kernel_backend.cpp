#include "runtime/kernel_backend.h"

#include <fmt/format.h>

#include "algorithms/registry.h"

namespace dcnjit::detail {

namespace {
algo::RunOptions run_options(const EngineOptions& options) {
  algo::RunOptions run;
  run.allow_tf32 = options.allow_tf32;
  run.deterministic = options.deterministic;
  return run;
}
}  // namespace

KernelBackend::KernelBackend(const EngineOptions& options, std::unique_ptr<KernelDevice> device)
    : restriction_(options.algorithm),
      run_options_(run_options(options)),
      device_(std::move(device)),
      registered_(algo::make_algorithms(device_->traits(), run_options_)) {
  std::vector<std::string> names;
  for (const auto& a : registered_) names.push_back(a->name());
  offered_ = offered_algorithms(names, options, device_->traits().backend);
  context_ = std::make_unique<algo::LaunchContext>(*device_, run_options_);
}

KernelBackend::~KernelBackend() = default;

std::string KernelBackend::options_suffix() const {
  std::string suffix = restriction_.empty() ? std::string() : fmt::format(":algorithm={}", restriction_);
  if (run_options_.allow_tf32) suffix += ":tf32";
  if (run_options_.deterministic) suffix += ":deterministic";
  return suffix;
}

const algo::Algorithm& KernelBackend::algorithm(std::string_view name) const {
  for (const auto& a : registered_)
    if (a->name() == name && std::find(offered_.begin(), offered_.end(), a->name()) != offered_.end()) return *a;
  throw Error(ErrorCode::InvalidArgument, fmt::format("algorithm: '{}' is not one of the {} backend's ({})", name,
                                                      to_string(kind()), fmt::join(offered_, ", ")));
}

const KnobTable& KernelBackend::knobs(std::string_view name) const { return algorithm(name).knobs(); }

std::string KernelBackend::cannot_implement(std::string_view name, const Problem& problem) const {
  return algorithm(name).cannot_implement(problem);
}

std::size_t KernelBackend::workspace_size(const Problem& problem, const Config& config) const {
  return algorithm(config.algorithm).workspace_size(problem, config);
}

std::string KernelBackend::resource_problem(const Problem& problem, const Config& config, Direction direction) {
  const algo::Algorithm& a = algorithm(config.algorithm);
  std::lock_guard lock(mutex_);
  for (const gen::KernelSpec& spec : a.kernels(problem, config, direction, algo::all_gradients(problem)))
    if (std::string why = device_->resource_problem(spec); !why.empty()) return why;
  return {};
}

void KernelBackend::forward(const Problem& problem, const Config& config, const ForwardArgs& args) {
  const algo::Algorithm& a = algorithm(config.algorithm);
  std::lock_guard lock(mutex_);
  struct End {
    KernelBackend* self;
    ~End() { self->end_pass(); }
  } end{this};
  pass_memory({&args.x, &args.offset, &args.mask, &args.weight, &args.bias, &args.y}, args.workspace,
              args.workspace_bytes);
  begin_pass(args.stream);
  context_->set_phase_sink(phase_sink());
  context_->begin_pass();
  a.forward(*context_, problem, config, args);
  context_->end_pass();
}

void KernelBackend::backward(const Problem& problem, const Config& config, const BackwardArgs& args) {
  const algo::Algorithm& a = algorithm(config.algorithm);
  std::lock_guard lock(mutex_);
  struct End {
    KernelBackend* self;
    ~End() { self->end_pass(); }
  } end{this};
  pass_memory({&args.x, &args.offset, &args.mask, &args.weight, &args.grad_y, &args.grad_x, &args.grad_offset,
               &args.grad_mask, &args.grad_weight, &args.grad_bias},
              args.workspace, args.workspace_bytes);
  begin_pass(args.stream);
  context_->set_phase_sink(phase_sink());
  context_->begin_pass();
  a.backward(*context_, problem, config, args);
  context_->end_pass();
}

}  // namespace dcnjit::detail
