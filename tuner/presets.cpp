#include "tuner/presets.h"

#include <fmt/format.h>

#include <sstream>

#include "dcnjit/error.h"
#include "core/file_io.h"

namespace dcnjit::tuner {

namespace {

Problem conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t co, int k, int stride, int pad, bool mask,
             DType dtype) {
  Problem p;
  p.N = n, p.C = c, p.H = h, p.W = w, p.Co = co;
  p.kh = p.kw = k;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  p.mask = mask;
  p.dtype = dtype;
  return p;
}

std::vector<Preset> make_presets() {
  std::vector<Preset> list;
  // Tiny problems that exercise stride, groups, offset groups, v1 and f16 in seconds on a CPU.
  Preset smoke{"smoke", "a few tiny problems (seconds on a CPU)", {}};
  smoke.problems.push_back(conv(1, 4, 8, 8, 4, 3, 1, 1, true, DType::f32));
  smoke.problems.push_back(conv(2, 8, 12, 10, 8, 3, 2, 1, false, DType::f32));
  Problem grouped = conv(1, 8, 9, 9, 8, 3, 1, 1, true, DType::f32);
  grouped.groups = 2;
  grouped.offset_groups = 2;
  smoke.problems.push_back(grouped);
  Problem v1 = conv(1, 4, 7, 7, 4, 3, 1, 0, false, DType::f32);
  v1.boundary = Boundary::v1;
  smoke.problems.push_back(v1);
  list.push_back(std::move(smoke));

  // ResNet-50 stages 3-5 with DCNv2 in the 3x3 convs, detection resolution (800x1216 input:
  // strides 8, 16, 32), batch 2, as in the DCNv2 paper's Faster R-CNN / Mask R-CNN setups.
  Preset r50{"dcnv2-r50", "ResNet-50 stage 3-5 3x3 DCNv2 convs, batch 2, detection resolution, f16 and f32", {}};
  for (DType dtype : {DType::f32, DType::f16}) {
    r50.problems.push_back(conv(2, 128, 100, 152, 128, 3, 1, 1, true, dtype));
    r50.problems.push_back(conv(2, 256, 50, 76, 256, 3, 1, 1, true, dtype));
    r50.problems.push_back(conv(2, 512, 25, 38, 512, 3, 1, 1, true, dtype));
  }
  list.push_back(std::move(r50));

  // The benchmark of the original TensorFlow port: AlexNet's conv1 as a DCNv1.
  Preset alexnet{"tf-alexnet-conv1", "N100 C3 224x224 -> 64, 11x11 stride 4 pad 2, no mask (TF port benchmark)", {}};
  alexnet.problems.push_back(conv(100, 3, 224, 224, 64, 11, 4, 2, false, DType::f32));
  list.push_back(std::move(alexnet));
  return list;
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list = make_presets();
  return list;
}

const Preset& find_preset(const std::string& name) {
  std::string known;
  for (const Preset& preset : presets()) {
    if (name == preset.name) return preset;
    known += known.empty() ? preset.name : std::string(", ") + preset.name;
  }
  throw Error(ErrorCode::InvalidArgument, fmt::format("preset: '{}' is not one of {}", name, known));
}

std::vector<Problem> read_problem_file(const std::string& path) {
  // A regular file of at most 64 MiB (about a million problems): a FIFO or a device would hang.
  std::istringstream in(detail::read_regular_file(path, std::size_t(64) << 20, "problems file"));
  std::vector<Problem> problems;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      Problem p = Problem::parse(line);
      p.validate();
      problems.push_back(p);
    } catch (const Error& e) {
      throw Error(ErrorCode::IoError, fmt::format("problems file '{}', line {}: {}", path, number, e.what()));
    }
  }
  if (problems.empty()) throw Error(ErrorCode::IoError, fmt::format("problems file '{}' holds no problem", path));
  return problems;
}

}  // namespace dcnjit::tuner
