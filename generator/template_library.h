// The kernel templates (templates/*.cuh), embedded into the library at build time so a generated
// kernel compiles without the source tree: NVRTC receives them as in-memory headers, the sim
// backend writes them into an include directory. Names are the include paths the generated source
// uses ("templates/sampling.cuh").
#pragma once

#include <string_view>
#include <vector>

namespace dcnjit::gen {

struct TemplateFile {
  std::string_view path;      // "templates/<file>.cuh"
  std::string_view contents;  // the file's text as it was at build time
};

// Sorted by path.
const std::vector<TemplateFile>& template_library();

}  // namespace dcnjit::gen
