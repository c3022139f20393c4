// The SIMT shim headers (runtime/sim/shim/*.h), embedded at build time. The sim compiler writes them
// into its include directory at run time; generated kernels include them as "dcnjit_sim/<file>".
#pragma once

#include <string_view>
#include <vector>

namespace dcnjit::sim {

struct ShimFile {
  std::string_view path;      // "dcnjit_sim/simt.h"
  std::string_view contents;  // the file's text as it was at build time
};

// Sorted by path.
const std::vector<ShimFile>& shim_files();

}  // namespace dcnjit::sim
