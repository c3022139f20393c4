// dcnjit._dcnjit: the public C++ API (include/dcnjit/dcnjit.h) for Python. Tensors arrive as DLPack arrays
// and are handed to the C++ API as views of the caller's memory (dlpack_tensor.h): nothing is copied and
// outputs are written in place. Plan.forward/backward release the GIL while they run. The friendlier
// torchvision-style functions live in the Python half of the package (python/dcnjit).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dcnjit/dcnjit.h"
#include "dlpack_tensor.h"
#include "exceptions.h"
#include "problem_inference.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace dcnjit::python {
namespace {

using InArray = nb::ndarray<nb::ro>;  // read-only views are accepted as inputs
using OutArray = nb::ndarray<>;

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

TuningPolicy parse_tuning(const std::string& text) {
  if (text == "off") return TuningPolicy::off;
  if (text == "on_first_use") return TuningPolicy::on_first_use;
  if (text == "cache_only") return TuningPolicy::cache_only;
  invalid(fmt::format("tuning: unknown policy '{}' (off, on_first_use or cache_only)", text));
}

// One tensor argument of a call: its name in messages, where it lives, and the view the C++ API gets.
struct Operand {
  const char* name;
  Placement placement;
  TensorRef ref;
};

template <typename Array>
Operand operand(const char* name, const std::optional<Array>& array) {
  if (!array) return {name, {}, {}};
  return {name, placement(*array), tensor_ref(name, *array)};
}

// Every present tensor on the first one's device; for the cuda backend, on the engine's device too (a
// TensorRef does not carry the CUDA ordinal, so the C++ API cannot check this itself).
void require_one_device(const std::vector<const Operand*>& operands, const Plan* plan, int engine_device) {
  const Operand* first = nullptr;
  for (const Operand* o : operands) {
    if (!o->ref.present()) continue;
    if (!first) {
      first = o;
      if (plan && plan->backend() == Backend::cuda && o->placement.type == nb::device::cuda::value &&
          o->placement.id != engine_device)
        invalid(fmt::format("{}: tensor is on {} but the engine runs on cuda:{}", o->name,
                            placement_name(o->placement), engine_device));
      continue;
    }
    if (!(o->placement == first->placement))
      invalid(fmt::format("{}: tensor is on {} but {} is on {}", o->name, placement_name(o->placement), first->name,
                          placement_name(first->placement)));
  }
}

// A Plan with the device ordinal its engine was created for (cuda: the tensors must be there).
struct PythonPlan {
  Plan plan;
  int device = 0;
};

void forward(const PythonPlan& self, const InArray& x, const InArray& offset, const InArray& weight, const OutArray& y,
             const std::optional<InArray>& mask, const std::optional<InArray>& bias, std::uintptr_t stream,
             const std::optional<OutArray>& workspace) {
  const Operand ox = operand("x", std::optional(x)), ooffset = operand("offset", std::optional(offset)),
                oweight = operand("weight", std::optional(weight)), oy = operand("y", std::optional(y)),
                omask = operand("mask", mask), obias = operand("bias", bias);
  require_one_device({&ox, &ooffset, &omask, &oweight, &obias, &oy}, &self.plan, self.device);
  ForwardArgs args{.x = ox.ref, .offset = ooffset.ref, .mask = omask.ref, .weight = oweight.ref, .bias = obias.ref,
                   .y = oy.ref, .stream = reinterpret_cast<void*>(stream)};
  if (workspace) {
    args.workspace = workspace->data();
    args.workspace_bytes = workspace->nbytes();
  }
  nb::gil_scoped_release release;
  self.plan.forward(args);
}

void backward(const PythonPlan& self, const InArray& x, const InArray& offset, const InArray& weight,
              const InArray& grad_y, const std::optional<InArray>& mask, const std::optional<OutArray>& grad_x,
              const std::optional<OutArray>& grad_offset, const std::optional<OutArray>& grad_mask,
              const std::optional<OutArray>& grad_weight, const std::optional<OutArray>& grad_bias,
              std::uintptr_t stream, const std::optional<OutArray>& workspace) {
  const Operand ox = operand("x", std::optional(x)), ooffset = operand("offset", std::optional(offset)),
                oweight = operand("weight", std::optional(weight)), omask = operand("mask", mask),
                ograd_y = operand("grad_y", std::optional(grad_y)), ograd_x = operand("grad_x", grad_x),
                ograd_offset = operand("grad_offset", grad_offset), ograd_mask = operand("grad_mask", grad_mask),
                ograd_weight = operand("grad_weight", grad_weight), ograd_bias = operand("grad_bias", grad_bias);
  require_one_device({&ox, &ooffset, &omask, &oweight, &ograd_y, &ograd_x, &ograd_offset, &ograd_mask, &ograd_weight,
                      &ograd_bias},
                     &self.plan, self.device);
  BackwardArgs args{.x = ox.ref, .offset = ooffset.ref, .mask = omask.ref, .weight = oweight.ref,
                    .grad_y = ograd_y.ref, .grad_x = ograd_x.ref, .grad_offset = ograd_offset.ref,
                    .grad_mask = ograd_mask.ref, .grad_weight = ograd_weight.ref, .grad_bias = ograd_bias.ref,
                    .stream = reinterpret_cast<void*>(stream)};
  if (workspace) {
    args.workspace = workspace->data();
    args.workspace_bytes = workspace->nbytes();
  }
  nb::gil_scoped_release release;
  self.plan.backward(args);
}

Problem infer(const InArray& input, const InArray& offset, const InArray& weight, const std::optional<InArray>& bias,
              std::array<int, 2> stride, std::array<int, 2> padding, std::array<int, 2> dilation,
              const std::optional<InArray>& mask, const std::string& boundary) {
  const Operand oinput = operand("input", std::optional(input)), ooffset = operand("offset", std::optional(offset)),
                oweight = operand("weight", std::optional(weight)), obias = operand("bias", bias),
                omask = operand("mask", mask);
  require_one_device({&oinput, &ooffset, &omask, &oweight, &obias}, nullptr, 0);
  Geometry geometry{.stride = stride, .padding = padding, .dilation = dilation, .boundary = parse_boundary(boundary)};
  return infer_problem({oinput.ref, ooffset.ref, oweight.ref, obias.ref, omask.ref}, geometry);
}

nb::dict tensor_info(const InArray& array, const std::string& name) {
  const TensorRef ref = tensor_ref(name.c_str(), array);
  nb::list shape, strides;
  for (int i = 0; i < ref.rank; ++i) {
    shape.append(ref.shape[std::size_t(i)]);
    strides.append(ref.strides[std::size_t(i)]);
  }
  nb::dict info;
  info["data"] = reinterpret_cast<std::uintptr_t>(ref.data);
  info["shape"] = nb::tuple(shape);
  info["strides"] = nb::tuple(strides);
  info["dtype"] = to_string(ref.dtype);
  info["device"] = placement_name(placement(array));
  info["contiguous"] = ref.is_contiguous();
  info["channels_last"] = ref.is_channels_last();
  return info;
}

void bind_problem(nb::module_& m) {
  nb::class_<Problem>(m, "Problem",
                      "One deformable convolution (docs/semantics.md): sizes, geometry, groups, mask/bias, boundary, "
                      "dtype and layout. Problem.parse('N2 C64 H32 W32 Co64 k3x3 p1x1 mask f32') or attributes.")
      .def(nb::init<>())
      .def_static("parse", &Problem::parse, "text"_a)
      .def_rw("N", &Problem::N)
      .def_rw("C", &Problem::C)
      .def_rw("H", &Problem::H)
      .def_rw("W", &Problem::W)
      .def_rw("Co", &Problem::Co)
      .def_rw("kh", &Problem::kh)
      .def_rw("kw", &Problem::kw)
      .def_rw("stride_h", &Problem::stride_h)
      .def_rw("stride_w", &Problem::stride_w)
      .def_rw("pad_h", &Problem::pad_h)
      .def_rw("pad_w", &Problem::pad_w)
      .def_rw("dilation_h", &Problem::dilation_h)
      .def_rw("dilation_w", &Problem::dilation_w)
      .def_rw("groups", &Problem::groups)
      .def_rw("offset_groups", &Problem::offset_groups)
      .def_rw("mask", &Problem::mask)
      .def_rw("bias", &Problem::bias)
      .def_prop_rw(
          "boundary", [](const Problem& p) { return std::string(to_string(p.boundary)); },
          [](Problem& p, const std::string& text) { p.boundary = parse_boundary(text); }, "'v2' or 'v1'")
      .def_prop_rw(
          "dtype", [](const Problem& p) { return std::string(to_string(p.dtype)); },
          [](Problem& p, const std::string& text) { p.dtype = parse_dtype(text); }, "'f32', 'f16', 'bf16' or 'f64'")
      .def_prop_rw(
          "layout", [](const Problem& p) { return std::string(to_string(p.layout)); },
          [](Problem& p, const std::string& text) { p.layout = parse_layout(text); }, "'nchw' or 'nhwc'")
      .def_prop_ro("Ho", &Problem::Ho)
      .def_prop_ro("Wo", &Problem::Wo)
      .def("validate", &Problem::validate)
      .def("__str__", &Problem::to_string)
      .def("__repr__", [](const Problem& p) { return fmt::format("dcnjit.Problem.parse('{}')", p.to_string()); })
      .def("__eq__", [](const Problem& a, const Problem& b) { return a == b; })
      .def("__hash__", [](const Problem& p) { return nb::hash(nb::str(p.to_string().c_str())); });
}

void bind_engine(nb::module_& m) {
  nb::class_<PythonPlan>(m, "Plan",
                         "A validated problem with its forward and backward configs; from Engine.plan(). forward() "
                         "and backward() write into the given output arrays in place.")
      .def_prop_ro("problem", [](const PythonPlan& p) { return p.plan.problem(); })
      .def_prop_ro("config", [](const PythonPlan& p) { return p.plan.config().to_string(); })
      .def_prop_ro("backward_config", [](const PythonPlan& p) { return p.plan.backward_config().to_string(); })
      .def_prop_ro("backend", [](const PythonPlan& p) { return std::string(to_string(p.plan.backend())); })
      .def_prop_ro("workspace_size", [](const PythonPlan& p) { return p.plan.workspace_size(); })
      .def("forward", &forward, "x"_a, "offset"_a, "weight"_a, "y"_a, nb::kw_only(), "mask"_a = nb::none(),
           "bias"_a = nb::none(), "stream"_a = 0, "workspace"_a = nb::none(),
           "y = deform_conv2d(x, offset, weight, mask, bias), written into y. stream: a CUstream (int) for cuda.")
      .def("backward", &backward, "x"_a, "offset"_a, "weight"_a, "grad_y"_a, nb::kw_only(), "mask"_a = nb::none(),
           "grad_x"_a = nb::none(), "grad_offset"_a = nb::none(), "grad_mask"_a = nb::none(),
           "grad_weight"_a = nb::none(), "grad_bias"_a = nb::none(), "stream"_a = 0, "workspace"_a = nb::none(),
           "Writes the gradients that are given (any subset; those left out are not computed).");

  nb::class_<Engine>(m, "Engine", nb::is_weak_referenceable(),
                     "A backend with its binary cache and tuning database (dcnjit::Engine). Engines are costly to "
                     "make: keep one (dcnjit.get_engine caches them).")
      .def(
          "__init__",
          [](Engine* self, const std::string& backend, int threads, const std::optional<std::string>& cache_path,
             const std::string& tuning, double tune_budget_s, int device, const std::optional<std::string>& algorithm,
             bool allow_tf32, bool deterministic) {
            EngineOptions options;
            options.backend = parse_backend(backend);
            options.threads = threads;
            options.cache_path = cache_path.value_or("");
            options.tuning = parse_tuning(tuning);
            options.tune_budget_s = tune_budget_s;
            options.device = device;
            options.algorithm = algorithm.value_or("");
            options.allow_tf32 = allow_tf32;
            options.deterministic = deterministic;
            new (self) Engine(std::move(options));
          },
          "backend"_a = "cpu", nb::kw_only(), "threads"_a = 0, "cache_path"_a = nb::none(), "tuning"_a = "off",
          "tune_budget_s"_a = 20.0, "device"_a = 0, "algorithm"_a = nb::none(), "allow_tf32"_a = false,
          "deterministic"_a = false)
      .def_prop_ro("backend", [](const Engine& e) { return std::string(to_string(e.options().backend)); })
      .def_prop_ro("threads", [](const Engine& e) { return e.options().threads; })
      .def_prop_ro("cache_path", [](const Engine& e) { return e.options().cache_path; })
      .def_prop_ro("tuning", [](const Engine& e) { return std::string(to_string(e.options().tuning)); })
      .def_prop_ro("tune_budget_s", [](const Engine& e) { return e.options().tune_budget_s; })
      .def_prop_ro("device", [](const Engine& e) { return e.options().device; })
      .def_prop_ro("algorithm", [](const Engine& e) { return e.options().algorithm; })
      .def_prop_ro("allow_tf32", [](const Engine& e) { return e.options().allow_tf32; })
      .def_prop_ro("deterministic", [](const Engine& e) { return e.options().deterministic; })
      .def(
          "plan",
          [](Engine& e, const Problem& problem, const std::optional<std::string>& config,
             const std::optional<std::string>& backward_config) {
            const int device = e.options().device;
            if (!config && !backward_config) return PythonPlan{e.plan(problem), device};
            const Config forward_config = Config::parse(config.value_or(""));
            if (!backward_config) return PythonPlan{e.plan(problem, forward_config), device};
            return PythonPlan{e.plan(problem, forward_config, Config::parse(*backward_config)), device};
          },
          "problem"_a, "config"_a = nb::none(), "backward_config"_a = nb::none(),
          "A plan for the problem: configs from the tuning policy, or the given config text (e.g. 'im2col step=2'; "
          "knobs left out take their defaults) for forward and, unless backward_config is given, backward.");
}

}  // namespace
}  // namespace dcnjit::python

NB_MODULE(_dcnjit, m) {
  using namespace dcnjit::python;
  m.doc() = "dcnjit's C++ API (the dcnjit package wraps it; see help(dcnjit)).";
  // Engines and plans are routinely still reachable at interpreter exit (the package's engine cache, a user's
  // module globals, autograd graphs) and are then freed after nanobind's leak check runs; its report would
  // be noise on every such exit.
  nb::set_leak_warnings(false);
  register_exceptions(m);
  bind_problem(m);
  bind_engine(m);
  m.def("infer_problem", &infer, "input"_a, "offset"_a, "weight"_a, "bias"_a = nb::none(), "stride"_a,
        "padding"_a, "dilation"_a, "mask"_a = nb::none(), "boundary"_a = "v2",
        "The Problem that torchvision.ops.deform_conv2d's arguments describe (groups from the weight, offset "
        "groups from the offset, layout from the strides).");
  m.def("tensor_info", &tensor_info, "array"_a, "name"_a = "tensor",
        "What the C++ API sees of an array: data pointer, shape, strides (elements), dtype, device.");
}
