#include "tests/support/golden_fixture.h"

#include "tests/support/problems.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>
#include <variant>

#include "dcnjit/engine.h"
#include "dcnjit/error.h"
#include "tools/io/npy.h"

namespace dcnjit::test {
namespace {

[[noreturn]] void bad_case(const std::filesystem::path& file, const std::string& what) {
  throw Error(ErrorCode::IoError, fmt::format("{}: {}", file.string(), what));
}

// case.json is a flat JSON object whose values are strings, integers or arrays of integers; this reads
// exactly that (make_golden.py writes nothing else).
using JsonValue = std::variant<std::string, int64_t, std::vector<int64_t>>;

class CaseJsonReader {
 public:
  CaseJsonReader(std::string text, std::filesystem::path file) : text_(std::move(text)), file_(std::move(file)) {}

  std::map<std::string, JsonValue> read() {
    std::map<std::string, JsonValue> values;
    expect('{');
    while (!accept('}')) {
      std::string key = string();
      expect(':');
      values[key] = value();
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    return values;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }
  void expect(char c) {
    if (!accept(c)) bad_case(file_, fmt::format("expected '{}' at offset {}", c, pos_));
  }
  std::string string() {
    expect('"');
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') ++pos_;  // the descriptions need no escapes beyond \" and \\ .
      if (pos_ < text_.size()) s += text_[pos_++];
    }
    expect('"');
    return s;
  }
  int64_t integer() {
    skip_space();
    std::size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(text_.substr(pos_), &used);
    } catch (const std::exception&) {
      bad_case(file_, fmt::format("expected an integer at offset {}", pos_));
    }
    pos_ += used;
    return v;
  }
  JsonValue value() {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '"') return string();
    if (accept('[')) {
      std::vector<int64_t> list;
      while (!accept(']')) {
        list.push_back(integer());
        if (!accept(',')) {
          expect(']');
          break;
        }
      }
      return list;
    }
    return integer();
  }

  std::string text_;
  std::filesystem::path file_;
  std::size_t pos_ = 0;
};

// The parameters of case.json applied to a Problem (whose shape fields the files fill in later).
Problem read_case_parameters(const std::filesystem::path& file, std::string& description) {
  std::ifstream in(file);
  if (!in) bad_case(file, "cannot open");
  std::stringstream text;
  text << in.rdbuf();
  const auto values = CaseJsonReader(text.str(), file).read();

  auto pair = [&](const char* key, int& a, int& b) {
    auto it = values.find(key);
    if (it == values.end()) bad_case(file, fmt::format("missing \"{}\"", key));
    const auto* list = std::get_if<std::vector<int64_t>>(&it->second);
    if (!list || list->size() != 2) bad_case(file, fmt::format("\"{}\" must be a list of two integers", key));
    a = int((*list)[0]);
    b = int((*list)[1]);
  };
  auto text_value = [&](const char* key) {
    auto it = values.find(key);
    const auto* s = it == values.end() ? nullptr : std::get_if<std::string>(&it->second);
    if (!s) bad_case(file, fmt::format("\"{}\" must be a string", key));
    return *s;
  };
  Problem p;
  pair("stride", p.stride_h, p.stride_w);
  pair("pad", p.pad_h, p.pad_w);
  pair("dilation", p.dilation_h, p.dilation_w);
  auto groups = values.find("groups");
  if (groups == values.end() || !std::holds_alternative<int64_t>(groups->second))
    bad_case(file, "\"groups\" must be an integer");
  p.groups = int(std::get<int64_t>(groups->second));
  p.boundary = parse_boundary(text_value("boundary"));
  description = text_value("description");
  return p;
}

std::optional<io::HostArray> read_if_present(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  return io::read_npy(file);
}

}  // namespace

std::vector<std::string> GoldenCase::cli_flags() const {
  const Problem& p = inputs.problem;
  return {"--stride",   fmt::format("{},{}", p.stride_h, p.stride_w),
          "--pad",      fmt::format("{},{}", p.pad_h, p.pad_w),
          "--dilation", fmt::format("{},{}", p.dilation_h, p.dilation_w),
          "--groups",   std::to_string(p.groups),
          "--boundary", to_string(p.boundary)};
}

std::filesystem::path golden_root(FixtureSet set) {
  const char* data = std::getenv("DCNJIT_TEST_DATA");
  const std::filesystem::path root = data && *data ? data : DCNJIT_SOURCE_DIR "/tests/data";
  return root / (set == FixtureSet::golden ? "golden" : "nonfinite");
}

std::vector<std::string> list_golden_cases(FixtureSet set) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(golden_root(set), ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

GoldenCase load_golden_case(const std::string& name, FixtureSet set) {
  GoldenCase golden;
  golden.name = name;
  golden.dir = golden_root(set) / name;
  const Problem parameters = read_case_parameters(golden.dir / "case.json", golden.description);
  golden.inputs = io::load_problem_arrays(golden.dir, parameters, io::GradYFile::required);
  const Problem& p = golden.inputs.problem;

  io::ProblemResults& e = golden.expected;
  e.y = io::read_npy(golden.dir / "y.npy");
  e.grad_x = io::read_npy(golden.dir / "grad_x.npy");
  e.grad_offset = io::read_npy(golden.dir / "grad_offset.npy");
  e.grad_weight = io::read_npy(golden.dir / "grad_weight.npy");
  e.grad_mask = read_if_present(golden.dir / "grad_mask.npy");
  e.grad_bias = read_if_present(golden.dir / "grad_bias.npy");
  if (e.grad_mask.has_value() != p.mask) bad_case(golden.dir / "grad_mask.npy", "present exactly when mask.npy is");
  if (e.grad_bias.has_value() != p.bias) bad_case(golden.dir / "grad_bias.npy", "present exactly when bias.npy is");
  return golden;
}

io::ProblemResults run_golden_case(const GoldenCase& golden, Backend backend, Layout layout) {
  EngineOptions options;
  options.backend = backend;
  Engine engine(options);
  const io::ProblemArrays inputs = in_layout(golden.inputs, layout);
  return to_nchw(io::run_problem(engine, inputs, /*backward=*/true), inputs.problem);
}

namespace {

// "nan", "+inf", "-inf" or "finite".
const char* value_class(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  return "finite";
}

}  // namespace

double relative_l2(const std::vector<float>& actual, const std::vector<float>& expected) {
  if (actual.size() != expected.size())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("relative_l2: {} values vs {} expected", actual.size(), expected.size()));
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double d = double(actual[i]) - double(expected[i]);
    diff += d * d;
    norm += double(expected[i]) * double(expected[i]);
  }
  // NaN in `actual` makes the result NaN, which fails every `<=` comparison.
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

::testing::AssertionResult matches_golden(const io::ProblemResults& actual, const io::ProblemResults& expected,
                                          double tolerance) {
  std::string report;
  bool ok = true;
  auto compare = [&](const char* name, const std::optional<io::HostArray>& got,
                     const std::optional<io::HostArray>& want) {
    if (!want) return;
    if (!got) {
      ok = false;
      report += fmt::format("\n  {}: missing", name);
      return;
    }
    if (got->shape != want->shape) {
      ok = false;
      report += fmt::format("\n  {}: shape {} vs expected {}", name, got->shape_string(), want->shape_string());
      return;
    }
    // Non-finite values must sit exactly where expected (docs/semantics.md); the rest is compared by error.
    std::vector<float> got_finite, want_finite;
    std::size_t misplaced = 0, first = 0;
    for (std::size_t i = 0; i < want->data.size(); ++i) {
      const float a = got->data[i], e = want->data[i];
      if (std::string_view(value_class(a)) != value_class(e)) {
        if (misplaced++ == 0) first = i;
      } else if (std::isfinite(e)) {
        got_finite.push_back(a);
        want_finite.push_back(e);
      }
    }
    if (misplaced > 0) {
      ok = false;
      report += fmt::format("\n  {:<12} {} non-finite value(s) misplaced, first at element {}: {} where {} is expected",
                            name, misplaced, first, got->data[first], want->data[first]);
      return;
    }
    const double error = relative_l2(got_finite, want_finite);
    const bool pass = error <= tolerance;
    ok = ok && pass;
    report += fmt::format("\n  {:<12} rel L2 {:.3g}{}", name, error, pass ? "" : "  <-- above tolerance");
  };
  compare("y", actual.y, expected.y);
  compare("grad_x", actual.grad_x, expected.grad_x);
  compare("grad_offset", actual.grad_offset, expected.grad_offset);
  compare("grad_weight", actual.grad_weight, expected.grad_weight);
  compare("grad_mask", actual.grad_mask, expected.grad_mask);
  compare("grad_bias", actual.grad_bias, expected.grad_bias);
  if (ok) return ::testing::AssertionSuccess() << "all within rel L2 " << tolerance << report;
  return ::testing::AssertionFailure() << "tolerance rel L2 " << tolerance << report;
}

}  // namespace dcnjit::test
