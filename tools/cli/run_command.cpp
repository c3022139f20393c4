// `dcnjit run`: one forward (and optionally backward) pass over the arrays in a directory, results as .npy.
// The contract (flags, file names, exit codes) is relied upon by scripts and outside checks; see usage below.
#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "dcnjit/error.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"
#include "tools/io/device_problem.h"
#include "tools/io/npy.h"

namespace dcnjit::cli {
namespace {

void write_output(const std::filesystem::path& dir, const char* name, const io::HostArray& array,
                  std::vector<std::string>& written) {
  io::write_npy(dir / name, array);
  written.push_back(name);
}

int run(std::vector<std::string>& argv) {
  Args args(argv);
  const auto in = args.take("in");
  const auto out = args.take("out");
  const bool backward = args.take_flag("backward");
  EngineOptions options;
  options.backend = take_backend(args);
  options.algorithm = take_algorithm(args);
  options.allow_tf32 = take_allow_tf32(args);
  options.deterministic = take_deterministic(args);
  if (auto threads = args.take_int("threads", 0, 4096)) options.threads = int(*threads);
  const Problem flags = take_problem_flags(args);
  args.finish();
  if (!in) throw UsageError("--in DIR is required (the directory with x.npy, offset.npy, weight.npy, ...)");
  if (!out) throw UsageError("--out DIR is required (where y.npy and the gradients are written)");

  const io::ProblemArrays arrays =
      load_problem_inputs(*in, flags, backward ? io::GradYFile::required : io::GradYFile::ignore);
  Engine engine(options);
  const io::ProblemResults results = io::run_problem(engine, arrays, backward);

  const std::filesystem::path out_dir(*out);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec)
    throw Error(ErrorCode::IoError, fmt::format("{}: cannot create the output directory ({})", *out, ec.message()));
  std::vector<std::string> written;
  write_output(out_dir, "y.npy", results.y, written);
  if (results.grad_x) write_output(out_dir, "grad_x.npy", *results.grad_x, written);
  if (results.grad_offset) write_output(out_dir, "grad_offset.npy", *results.grad_offset, written);
  if (results.grad_weight) write_output(out_dir, "grad_weight.npy", *results.grad_weight, written);
  if (results.grad_mask) write_output(out_dir, "grad_mask.npy", *results.grad_mask, written);
  if (results.grad_bias) write_output(out_dir, "grad_bias.npy", *results.grad_bias, written);
  fmt::print("{} on {}: wrote {} to {}\n", arrays.problem.to_string(), to_string(options.backend),
             fmt::join(written, ", "), out_dir.string());
  return 0;
}

const std::string kUsage = std::string(
    "usage: dcnjit run --in DIR --out DIR [--backward] [--backend cpu|cuda|sim] [--algorithm NAME] [--allow-tf32]\n"
    "                  [--deterministic] [--threads N]\n"
    "                  [--stride S[,S]] [--pad P[,P]] [--dilation D[,D]] [--groups G] [--boundary v1|v2]\n"
    "                  [--dtype f32|f16|bf16|f64] [--layout nchw|nhwc]\n"
    "\n"
    "Runs one deformable convolution on the arrays in --in and writes the results, all float32, to --out.\n"
    "\n"
    "--in DIR holds x.npy [N,C,H,W], offset.npy [N,2*og*kh*kw,Ho,Wo], weight.npy [Co,C/groups,kh,kw] and\n"
    "optionally mask.npy [N,og*kh*kw,Ho,Wo] (DCNv2), bias.npy [Co] and grad_y.npy [N,Co,Ho,Wo] (needed with\n"
    "--backward); float32, float16 or float64. The shapes, the offset groups og and the mask come from the files.\n"
    "With --layout nhwc, x, offset, mask and grad_y are channels-last ([N,H,W,C], [N,Ho,Wo,2*og*kh*kw], ...)\n"
    "and y and the gradients come back the same way.\n"
    "--out DIR receives y.npy and, with --backward, grad_x.npy, grad_offset.npy, grad_weight.npy, and\n"
    "grad_mask.npy / grad_bias.npy when there is a mask / bias.\n"
    "\n"
    "  --backward         also compute every gradient\n"
    "  --backend B        cpu (default), cuda or sim\n") + kAlgorithmUsage + kAllowTf32Usage + kDeterministicUsage +
    "  --threads N        CPU threads (default 0 = all cores)\n" + kProblemFlagsUsage + "\n"
    "\nExit status: 0 on success, 1 on a failure (the message names the file or parameter), 2 on a usage error.";

DCNJIT_COMMAND(Command{"run", "forward (and backward) on .npy arrays from a directory", kUsage.c_str(), run});

}  // namespace
}  // namespace dcnjit::cli
