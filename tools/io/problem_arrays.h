// The arrays of one deformable convolution as a directory of .npy files, the layout `dcnjit run --in DIR`
// reads and the golden fixtures use: x.npy, offset.npy, weight.npy, and optionally mask.npy, bias.npy and
// grad_y.npy. The files fix the shapes, the number of offset groups and whether there is a mask or a bias;
// the rest of the Problem (stride, pad, dilation, groups, boundary, dtype, layout) must be given. With
// layout nhwc the activation files are in channels-last order: x [N, H, W, C], offset [N, Ho, Wo,
// 2*og*kh*kw], mask [N, Ho, Wo, og*kh*kw], grad_y [N, Ho, Wo, Co]; weight and bias are the same in both.
#pragma once

#include <filesystem>
#include <optional>

#include "dcnjit/problem.h"
#include "tools/io/npy.h"

namespace dcnjit::io {

struct ProblemArrays {
  Problem problem;
  HostArray x, offset, weight;
  std::optional<HostArray> mask, bias, grad_y;
};

// What to do with grad_y.npy: not read, read when it exists, or an error when it is missing.
enum class GradYFile { ignore, optional, required };

// Reads the arrays in `dir` and infers N, C, H, W, Co, kh, kw, offset_groups, mask and bias from their
// shapes; stride, pad, dilation, groups, boundary, dtype and layout are taken from `params` (its shape
// fields are ignored). A missing or malformed file is Error(IoError); arrays whose shapes disagree are
// Error(InvalidArgument) naming the file, what it holds and what was expected.
ProblemArrays load_problem_arrays(const std::filesystem::path& dir, const Problem& params, GradYFile grad_y);

// The same inference for arrays already in memory; messages name the files as `dir`/x.npy etc.
// Fills arrays.problem from the arrays and `params`.
void infer_problem(ProblemArrays& arrays, const Problem& params, const std::filesystem::path& dir);

}  // namespace dcnjit::io
