#include "runtime/nvrtc/ptxas_log.h"

#include <cstdlib>
#include <string>

namespace dcnjit::nvrtc {

namespace {

// The integer written right before `suffix` in `line` ("39 registers" -> 39), or -1.
int number_before(std::string_view line, std::string_view suffix) {
  const std::size_t at = line.find(suffix);
  if (at == std::string_view::npos) return -1;
  std::size_t end = at;
  while (end > 0 && line[end - 1] == ' ') --end;
  std::size_t begin = end;
  while (begin > 0 && line[begin - 1] >= '0' && line[begin - 1] <= '9') --begin;
  if (begin == end) return -1;
  return std::atoi(std::string(line.substr(begin, end - begin)).c_str());
}

}  // namespace

KernelResources parse_ptxas_log(std::string_view log, std::string_view entry) {
  KernelResources resources;
  const std::string header = "Compiling entry function '" + std::string(entry) + "'";
  std::size_t at = log.find(header);
  if (at == std::string_view::npos) return resources;
  // The entry's section runs to the next "Compiling entry function" (or the end of the log).
  std::size_t end = log.find("Compiling entry function '", at + header.size());
  std::string_view section = log.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
  while (!section.empty()) {
    const std::size_t newline = section.find('\n');
    const std::string_view line = section.substr(0, newline);
    section = newline == std::string_view::npos ? std::string_view() : section.substr(newline + 1);
    if (int v = number_before(line, " registers"); v >= 0 && line.find("Used ") != std::string_view::npos) {
      resources.known = true;
      resources.registers = v;
      if (int smem = number_before(line, " bytes smem"); smem >= 0) resources.shared_bytes = smem;
    }
    if (int v = number_before(line, " bytes spill stores"); v >= 0) resources.spill_stores = v;
    if (int v = number_before(line, " bytes spill loads"); v >= 0) resources.spill_loads = v;
    if (int v = number_before(line, " bytes stack frame"); v >= 0) resources.stack_bytes = v;
  }
  return resources;
}

}  // namespace dcnjit::nvrtc
