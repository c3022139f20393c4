// Config's canonical text form. The tuning database stores to_string(); parse() is strict so a
// tampered or foreign row is rejected with the key at fault rather than run.
#include "dcnjit/config.h"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
    case Backend::sim: return "sim";
  }
  return "?";
}

Backend parse_backend(const std::string& text) {
  if (text == "cpu") return Backend::cpu;
  if (text == "cuda") return Backend::cuda;
  if (text == "sim") return Backend::sim;
  throw Error(ErrorCode::InvalidArgument, fmt::format("backend: '{}' is not one of cpu, cuda, sim", text));
}

const char* to_string(AtomicStrategy strategy) {
  switch (strategy) {
    case AtomicStrategy::plain: return "plain";
    case AtomicStrategy::warp: return "warp";
    case AtomicStrategy::block: return "block";
  }
  return "?";
}

std::string Config::to_string() const {
  return fmt::format("step={} threads={} ept={} bwd={} atomic={} algo={} cols={} tile={}", im2col_step,
                     block_threads, elems_per_thread, fused_backward ? "fused" : "split",
                     dcnjit::to_string(atomic), gemm_algo, keep_columns ? "keep" : "recompute", cpu_pixel_tile);
}

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& value, const char* expected) {
  throw Error(ErrorCode::InvalidArgument, fmt::format("config: {}={} is invalid ({})", key, value, expected));
}

int parse_nonnegative(const std::string& key, const std::string& value) {
  int v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty() || v < 0)
    bad(key, value, "expected a non-negative integer");
  return v;
}

}  // namespace

Config Config::parse(const std::string& text) {
  Config c;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    auto eq = item.find('=');
    if (eq == std::string::npos)
      throw Error(ErrorCode::InvalidArgument, fmt::format("config: '{}' is not key=value", item));
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "step") c.im2col_step = parse_nonnegative(key, value);
    else if (key == "threads") c.block_threads = parse_nonnegative(key, value);
    else if (key == "ept") c.elems_per_thread = parse_nonnegative(key, value);
    else if (key == "algo") c.gemm_algo = parse_nonnegative(key, value);
    else if (key == "tile") c.cpu_pixel_tile = parse_nonnegative(key, value);
    else if (key == "bwd") {
      if (value == "fused") c.fused_backward = true;
      else if (value == "split") c.fused_backward = false;
      else bad(key, value, "expected fused or split");
    } else if (key == "atomic") {
      if (value == "plain") c.atomic = AtomicStrategy::plain;
      else if (value == "warp") c.atomic = AtomicStrategy::warp;
      else if (value == "block") c.atomic = AtomicStrategy::block;
      else bad(key, value, "expected plain, warp or block");
    } else if (key == "cols") {
      if (value == "keep") c.keep_columns = true;
      else if (value == "recompute") c.keep_columns = false;
      else bad(key, value, "expected keep or recompute");
    } else {
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("config: unknown key '{}' (known: step threads ept bwd atomic algo cols tile)", key));
    }
  }
  return c;
}

}  // namespace dcnjit
