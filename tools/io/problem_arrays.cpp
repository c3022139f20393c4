#include "tools/io/problem_arrays.h"

#include <fmt/format.h>

#include <climits>
#include <string>
#include <vector>

#include "core/problem_tensors.h"
#include "dcnjit/error.h"

namespace dcnjit::io {
namespace {

[[noreturn]] void mismatch(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

// Checks rank and that no dimension is zero; `layout` names the dimensions, e.g. "[N, C, H, W]".
void require_layout(const std::string& file, const HostArray& array, std::size_t rank, const char* layout) {
  if (array.shape.size() != rank)
    mismatch(fmt::format("{}: expected {} dimensions {}, found shape {}", file, rank, layout, array.shape_string()));
  for (int64_t d : array.shape)
    if (d <= 0)
      mismatch(fmt::format("{}: shape {} has an empty dimension (layout {})", file, array.shape_string(), layout));
}

void require_shape(const std::string& file, const HostArray& array, const std::vector<int64_t>& expected,
                   const std::string& why) {
  if (array.shape != expected)
    mismatch(fmt::format("{}: expected shape {} ({}), found {}", file, shape_text(expected), why,
                         array.shape_string()));
}

int kernel_extent(const std::string& file, const HostArray& weight, int64_t value, const char* name) {
  if (value > INT_MAX)
    mismatch(fmt::format("{}: kernel {} {} from shape {} is too large", file, name, value, weight.shape_string()));
  return int(value);
}

}  // namespace

void infer_problem(ProblemArrays& a, const Problem& params, const std::filesystem::path& dir) {
  const std::string x_file = (dir / "x.npy").string();
  const std::string offset_file = (dir / "offset.npy").string();
  const std::string weight_file = (dir / "weight.npy").string();
  const std::string mask_file = (dir / "mask.npy").string();
  const std::string bias_file = (dir / "bias.npy").string();
  const std::string grad_y_file = (dir / "grad_y.npy").string();

  const bool nhwc = params.layout == Layout::nhwc;
  require_layout(x_file, a.x, 4, nhwc ? "[N, H, W, C]" : "[N, C, H, W]");
  require_layout(weight_file, a.weight, 4, "[Co, C/groups, kh, kw]");
  require_layout(offset_file, a.offset, 4,
                 nhwc ? "[N, Ho, Wo, 2*offset_groups*kh*kw]" : "[N, 2*offset_groups*kh*kw, Ho, Wo]");
  // The activation arrays in logical (NCHW) order; the files hold them in the layout's memory order.
  const std::vector<int64_t> x = logical_shape(a.x.shape, params.layout);
  const std::vector<int64_t> offset = logical_shape(a.offset.shape, params.layout);

  Problem p = params;
  p.N = x[0];
  p.C = x[1];
  p.H = x[2];
  p.W = x[3];
  p.Co = a.weight.shape[0];
  p.kh = kernel_extent(weight_file, a.weight, a.weight.shape[2], "height");
  p.kw = kernel_extent(weight_file, a.weight, a.weight.shape[3], "width");
  p.mask = a.mask.has_value();
  p.bias = a.bias.has_value();

  if (p.groups <= 0) mismatch(fmt::format("groups={} must be positive", p.groups));
  if (p.C % p.groups != 0)
    mismatch(fmt::format("groups={} does not divide the C={} input channels of {}", p.groups, p.C, x_file));
  if (a.weight.shape[1] != p.C / p.groups)  // a division: the product could overflow
    mismatch(fmt::format("{}: shape {} has {} input channels per group, but {} has C={} and groups={} needs "
                         "C/groups={}",
                         weight_file, a.weight.shape_string(), a.weight.shape[1], x_file, p.C, p.groups,
                         p.C / p.groups));
  if (p.Co % p.groups != 0)
    mismatch(fmt::format("{}: {} output channels are not divisible by groups={}", weight_file, p.Co, p.groups));

  if (offset[0] != p.N)
    mismatch(fmt::format("{}: batch size {} does not match {} (N={})", offset_file, offset[0], x_file, p.N));
  const int64_t per_group = 2 * int64_t(p.kh) * p.kw;
  if (offset[1] % per_group != 0)
    mismatch(fmt::format("{}: {} channels is not a multiple of 2*kh*kw={} (kernel {}x{} from {})", offset_file,
                         offset[1], per_group, p.kh, p.kw, weight_file));
  const int64_t offset_groups = offset[1] / per_group;
  if (offset_groups > INT_MAX || p.C % offset_groups != 0)
    mismatch(fmt::format("{}: {} channels mean {} offset groups, which does not divide C={} of {}", offset_file,
                         offset[1], offset_groups, p.C, x_file));
  p.offset_groups = int(offset_groups);

  // The remaining parameter checks (kernel larger than the padded image, ...) name the parameter.
  p.validate();

  const std::string geometry = fmt::format(
      "the output size of H={} W={} with kernel {}x{}, stride {},{}, pad {},{}, dilation {},{}", p.H, p.W, p.kh, p.kw,
      p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w);
  if (offset[2] != p.Ho() || offset[3] != p.Wo())
    mismatch(fmt::format("{}: spatial size {}x{} does not match {}x{}, {}", offset_file, offset[2], offset[3], p.Ho(),
                         p.Wo(), geometry));
  if (a.mask)
    require_shape(mask_file, *a.mask, tensor_shape(p, TensorRole::mask).memory_shape(),
                  fmt::format("{} with offset_groups={} from {}",
                              nhwc ? "[N, Ho, Wo, offset_groups*kh*kw]" : "[N, offset_groups*kh*kw, Ho, Wo]",
                              p.offset_groups, offset_file));
  if (a.bias) require_shape(bias_file, *a.bias, {p.Co}, fmt::format("[Co] with Co={} from {}", p.Co, weight_file));
  if (a.grad_y)
    require_shape(grad_y_file, *a.grad_y, tensor_shape(p, TensorRole::y).memory_shape(),
                  nhwc ? "[N, Ho, Wo, Co], the shape of y" : "[N, Co, Ho, Wo], the shape of y");
  a.problem = p;
}

ProblemArrays load_problem_arrays(const std::filesystem::path& dir, const Problem& params, GradYFile grad_y) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(ErrorCode::IoError, fmt::format("{}: not a directory", dir.string()));
  auto optional_file = [&](const char* name) -> std::optional<HostArray> {
    const auto path = dir / name;
    if (!std::filesystem::exists(path, ec)) return std::nullopt;
    return read_npy(path);
  };
  ProblemArrays a;
  a.x = read_npy(dir / "x.npy");
  a.offset = read_npy(dir / "offset.npy");
  a.weight = read_npy(dir / "weight.npy");
  a.mask = optional_file("mask.npy");
  a.bias = optional_file("bias.npy");
  if (grad_y == GradYFile::required) {
    const auto path = dir / "grad_y.npy";
    if (!std::filesystem::exists(path, ec))
      throw Error(ErrorCode::IoError, fmt::format("{}: missing (backward needs the gradient of y)", path.string()));
    a.grad_y = read_npy(path);
  } else if (grad_y == GradYFile::optional) {
    a.grad_y = optional_file("grad_y.npy");
  }
  infer_problem(a, params, dir);
  return a;
}

}  // namespace dcnjit::io
