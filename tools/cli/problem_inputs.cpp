#include "tools/cli/problem_inputs.h"

#include <fmt/format.h>

#include <tuple>

#include "dcnjit/error.h"
#include "tools/cli/command.h"

namespace dcnjit::cli {

const char* const kProblemFlagsUsage =
    "  --stride S[,S]     stride, one value or height,width (default 1)\n"
    "  --pad P[,P]        zero padding, one value or height,width (default 0)\n"
    "  --dilation D[,D]   dilation, one value or height,width (default 1)\n"
    "  --groups G         convolution groups (default 1)\n"
    "  --boundary v1|v2   sampling at the image border: v2 = torchvision/DCNv2, v1 = MXNet DCNv1 (default v2)\n"
    "  --dtype f32|f16|bf16|f64  element type the backend computes with; files are converted (default f32)\n"
    "  --layout nchw|nhwc memory order of x, offset, mask, y and their gradients (nhwc: channels-last files\n"
    "                     x [N,H,W,C], offset [N,Ho,Wo,2*og*kh*kw], mask [N,Ho,Wo,og*kh*kw], y/grad_y [N,Ho,Wo,Co];\n"
    "                     weight and bias are the same in both) (default nchw)";

namespace {

// The library's parse_* functions throw dcnjit::Error("boundary: 'v3' is not one of v1, v2"); on the
// command line a bad value is a usage error, reported with the flag's spelling.
template <typename Parse>
auto parse_flag(const std::string& text, Parse parse) {
  try {
    return parse(text);
  } catch (const Error& e) {
    throw UsageError(fmt::format("--{}", e.what()));
  }
}

}  // namespace

Problem take_problem_flags(Args& args) {
  Problem p;
  if (auto stride = args.take_pair("stride", 1)) std::tie(p.stride_h, p.stride_w) = *stride;
  if (auto pad = args.take_pair("pad", 0)) std::tie(p.pad_h, p.pad_w) = *pad;
  if (auto dilation = args.take_pair("dilation", 1)) std::tie(p.dilation_h, p.dilation_w) = *dilation;
  if (auto groups = args.take_int("groups", 1, 1 << 20)) p.groups = int(*groups);
  if (auto boundary = args.take("boundary")) p.boundary = parse_flag(*boundary, parse_boundary);
  if (auto dtype = args.take("dtype")) p.dtype = parse_flag(*dtype, parse_dtype);
  if (auto layout = args.take("layout")) p.layout = parse_flag(*layout, parse_layout);
  return p;
}

std::string take_algorithm(Args& args) {
  auto algorithm = args.take("algorithm");
  if (algorithm && algorithm->empty()) throw UsageError("--algorithm: give an algorithm name (e.g. im2col)");
  return algorithm.value_or("");
}

bool take_allow_tf32(Args& args) { return args.take_flag("allow-tf32"); }

bool take_deterministic(Args& args) { return args.take_flag("deterministic"); }

Backend take_backend(Args& args) {
  auto backend = args.take("backend");
  return backend ? parse_flag(*backend, parse_backend) : Backend::cpu;
}

io::ProblemArrays load_problem_inputs(const std::string& dir, const Problem& flags, io::GradYFile grad_y) {
  return io::load_problem_arrays(dir, flags, grad_y);
}

}  // namespace dcnjit::cli
