// The algorithm seam, modelled on CUTLASS's device-level operators (can_implement, get_workspace_size,
// initialize, run). An algorithm is one way of computing deformable convolution from generated kernels
// and GEMMs; each lives in its own folder (algorithms/<name>/) and is registered by one line in
// algorithms/algorithm_list.h. The sim and cuda backends (runtime/kernel_backend.h) dispatch on the
// config's algorithm; docs/architecture.md walks through adding one.
//
// An algorithm instance is made for one device (its DeviceTraits): its knob table and defaults may
// depend on the device's sizes (L2, SMs, shared memory).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/kernel_device.h"
#include "algorithms/launch_context.h"
#include "core/direction.h"
#include "core/knob_table.h"
#include "dcnjit/args.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo {

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // The name configs use: "im2col", "fused".
  virtual const std::string& name() const = 0;

  // The knobs of this algorithm on this device: parsing, validation, defaults, the tuner's space.
  virtual const KnobTable& knobs() const = 0;

  // Empty when the algorithm can run `problem` on this device; else the reason, for the user
  // ("fused: f64 has no tensor-core path").
  virtual std::string cannot_implement(const Problem& problem) const = 0;

  // The kernels one pass launches for a resolved config and the requested outputs, each once, in the
  // order of their first launch (gradients is ignored forward): the one list that `dcnjit emit`, the
  // NVRTC sweep and the launch sequence below all use.
  virtual std::vector<gen::KernelSpec> kernels(const Problem& problem, const Config& config, Direction direction,
                                               const Gradients& gradients) const = 0;

  // Scratch bytes either pass needs for (problem, config) with every gradient requested.
  virtual std::size_t workspace_size(const Problem& problem, const Config& config) const = 0;

  // The passes. Arguments are validated against the problem (core/validate_args.h) and the config is
  // resolved against knobs(); tensors live in the device's memory.
  virtual void forward(LaunchContext& context, const Problem& problem, const Config& config,
                       const ForwardArgs& args) const = 0;
  virtual void backward(LaunchContext& context, const Problem& problem, const Config& config,
                        const BackwardArgs& args) const = 0;
};

// Every gradient a backward call of `problem` can compute (mask and bias when the problem has them).
Gradients all_gradients(const Problem& problem);
// The gradients `args` requests.
Gradients requested_gradients(const Problem& problem, const BackwardArgs& args);

}  // namespace dcnjit::algo
