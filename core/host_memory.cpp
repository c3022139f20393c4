#include "core/host_memory.h"

#include <fmt/format.h>
#include <sys/sysinfo.h>

namespace dcnjit::detail {

std::string byte_count_text(std::size_t bytes) {
  constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) value /= 1024, ++unit;
  if (unit == 0) return fmt::format("{} bytes", bytes);
  return fmt::format("{:.1f} {} ({} bytes)", value, kUnits[unit], bytes);
}

Error host_allocation_error(std::string_view what, std::size_t bytes, std::string_view why) {
  return Error(ErrorCode::LaunchError,
               fmt::format("{}: cannot allocate {} of host memory ({})", what, byte_count_text(bytes), why));
}

void check_host_bytes(std::string_view what, std::size_t bytes) {
  struct sysinfo info {};
  if (sysinfo(&info) != 0) return;  // unknown: let the allocation decide
  const double total = (double(info.totalram) + double(info.totalswap)) * double(info.mem_unit);
  if (double(bytes) > total)
    throw host_allocation_error(
        what, bytes, fmt::format("this machine has {} of memory and swap", byte_count_text(std::size_t(total))));
}

}  // namespace dcnjit::detail
