#include "runtime/nvrtc/nvrtc_compiler.h"

#include <fmt/format.h>
#include <nvrtc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "dcnjit/error.h"
#include "generator/template_library.h"
#include "runtime/nvrtc/compile_error.h"

namespace dcnjit::nvrtc {

namespace {

std::atomic<std::uint64_t> g_compile_invocations{0};

void check(nvrtcResult result, const char* what) {
  if (result != NVRTC_SUCCESS)
    throw Error(ErrorCode::CompileError, fmt::format("nvrtc: {} failed: {}", what, nvrtcGetErrorString(result)));
}

struct ProgramDeleter {
  void operator()(nvrtcProgram* program) const {
    nvrtcDestroyProgram(program);
    delete program;
  }
};
using Program = std::unique_ptr<nvrtcProgram, ProgramDeleter>;

std::string program_log(nvrtcProgram program) {
  std::size_t size = 0;
  if (nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return {};
  log.resize(size - 1);  // drop the terminating NUL
  return log;
}

bool has_fp16_header(const std::string& dir) {
  std::error_code ignored;
  return !dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / "cuda_fp16.h", ignored);
}

}  // namespace

std::string version() {
  int major = 0, minor = 0;
  check(nvrtcVersion(&major, &minor), "nvrtcVersion");
  return fmt::format("nvrtc {}.{}", major, minor);
}

std::vector<int> supported_archs() {
  int count = 0;
  check(nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
  std::vector<int> archs(std::size_t(std::max(count, 0)));
  if (count > 0) check(nvrtcGetSupportedArchs(archs.data()), "nvrtcGetSupportedArchs");
  std::sort(archs.begin(), archs.end());
  return archs;
}

int parse_arch(const std::string& text) {
  std::string digits = text;
  for (const char* prefix : {"sm_", "compute_"})
    if (digits.starts_with(prefix)) digits = digits.substr(std::string(prefix).size());
  const bool numeric = !digits.empty() && digits.size() <= 4 &&
                       std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric || std::atoi(digits.c_str()) < 10)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("arch: '{}' is not a CUDA architecture (expected sm_XX, e.g. sm_90)", text));
  return std::atoi(digits.c_str());
}

Target target_for(int arch) {
  const std::vector<int> archs = supported_archs();
  if (archs.empty() || arch < archs.front())
    throw Error(ErrorCode::Unsupported,
                fmt::format("arch: sm_{} is older than the oldest architecture {} supports (sm_{})", arch, version(),
                            archs.empty() ? 0 : archs.front()));
  if (std::find(archs.begin(), archs.end(), arch) != archs.end())
    return {detail::BinaryFormat::cubin, arch, fmt::format("sm_{}", arch)};
  // Not supported directly: PTX of the newest virtual arch at or below the device, JIT by the driver.
  const int ptx_arch = *std::prev(std::upper_bound(archs.begin(), archs.end(), arch));
  return {detail::BinaryFormat::ptx, ptx_arch, fmt::format("compute_{}", ptx_arch)};
}

std::vector<std::string> compile_options(const Target& target) {
  std::vector<std::string> options = {"--std=c++17", fmt::format("-arch={}", target.name)};
  if (target.format == detail::BinaryFormat::cubin) options.push_back("--ptxas-options=-v");
  std::sort(options.begin(), options.end());
  return options;
}

std::string cuda_include_dir() {
  std::vector<std::string> candidates;
  if (const char* v = std::getenv("DCNJIT_CUDA_INCLUDE")) candidates.push_back(v);
  if (const char* v = std::getenv("CUDA_HOME")) candidates.push_back(std::string(v) + "/include");
  if (const char* v = std::getenv("CUDA_PATH")) candidates.push_back(std::string(v) + "/include");
#ifdef DCNJIT_CUDA_TOOLKIT_INCLUDE
  candidates.push_back(DCNJIT_CUDA_TOOLKIT_INCLUDE);
#endif
  candidates.push_back("/usr/local/cuda/include");
  for (const std::string& dir : candidates)
    if (has_fp16_header(dir)) return dir;
  return {};
}

CompiledKernel compile(const gen::KernelSource& kernel, int arch) {
  const Target target = target_for(arch);
  const std::string include_dir = cuda_include_dir();
  if (include_dir.empty())
    throw Error(ErrorCode::CompileError,
                "nvrtc: cannot find the CUDA toolkit headers (cuda_fp16.h); set DCNJIT_CUDA_INCLUDE to the "
                "toolkit's include directory");

  std::vector<const char*> header_names, header_texts;
  std::vector<std::string> header_storage;  // NUL-terminated copies of the embedded templates
  const auto& templates = gen::template_library();
  header_storage.reserve(templates.size() * 2);
  for (const gen::TemplateFile& file : templates) {
    header_storage.emplace_back(file.path);
    header_storage.emplace_back(file.contents);
  }
  for (std::size_t i = 0; i < templates.size(); ++i) {
    header_names.push_back(header_storage[2 * i].c_str());
    header_texts.push_back(header_storage[2 * i + 1].c_str());
  }

  const std::string program_name = kernel.name + ".cu";
  Program program(new nvrtcProgram(nullptr));
  check(nvrtcCreateProgram(program.get(), kernel.source.c_str(), program_name.c_str(), int(header_texts.size()),
                           header_texts.data(), header_names.data()),
        "nvrtcCreateProgram");
  check(nvrtcAddNameExpression(*program, kernel.name.c_str()), "nvrtcAddNameExpression");

  std::vector<std::string> options = compile_options(target);
  options.push_back("--include-path=" + include_dir);
  std::vector<const char*> option_pointers;
  for (const std::string& option : options) option_pointers.push_back(option.c_str());

  ++g_compile_invocations;
  const nvrtcResult result = nvrtcCompileProgram(*program, int(option_pointers.size()), option_pointers.data());
  CompiledKernel compiled;
  compiled.log = program_log(*program);
  if (result != NVRTC_SUCCESS)
    throw Error(ErrorCode::CompileError,
                describe_compile_error(kernel.name, target.name, program_name, kernel.source, compiled.log));

  const char* lowered = nullptr;
  check(nvrtcGetLoweredName(*program, kernel.name.c_str(), &lowered), "nvrtcGetLoweredName");
  compiled.entry = lowered;
  compiled.format = target.format;
  compiled.target = target.name;
  std::size_t size = 0;
  if (target.format == detail::BinaryFormat::cubin) {
    check(nvrtcGetCUBINSize(*program, &size), "nvrtcGetCUBINSize");
    compiled.binary.resize(size);
    check(nvrtcGetCUBIN(*program, compiled.binary.data()), "nvrtcGetCUBIN");
  } else {
    check(nvrtcGetPTXSize(*program, &size), "nvrtcGetPTXSize");
    compiled.binary.resize(size);
    check(nvrtcGetPTX(*program, compiled.binary.data()), "nvrtcGetPTX");  // keeps the NUL cuModuleLoadData wants
  }
  compiled.resources = parse_ptxas_log(compiled.log, compiled.entry);
  return compiled;
}

std::string cache_key(const gen::KernelSource& kernel, const Target& target) {
  return detail::binary_key({kernel.source, compile_options(target), version(), target.name, "cuda"});
}

CompiledKernel compile(const gen::KernelSource& kernel, int arch, detail::BinaryCache& cache) {
  const Target target = target_for(arch);
  bool compiled_now = false;
  const detail::CachedBinary binary = cache.get_or_compile(cache_key(kernel, target), [&] {
    compiled_now = true;
    CompiledKernel fresh = compile(kernel, arch);
    return detail::CachedBinary{fresh.format, fresh.target, fresh.entry, fresh.binary, fresh.log, kernel.name};
  });
  CompiledKernel result;
  result.format = binary.format;
  result.target = binary.target;
  result.entry = binary.entry;
  result.binary = binary.binary;
  result.log = binary.log;
  result.resources = parse_ptxas_log(binary.log, binary.entry);
  result.from_cache = !compiled_now;
  return result;
}

std::uint64_t compile_invocations() { return g_compile_invocations.load(); }

}  // namespace dcnjit::nvrtc
