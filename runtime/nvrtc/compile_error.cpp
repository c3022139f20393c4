#include "runtime/nvrtc/compile_error.h"

#include <fmt/format.h>

#include <regex>
#include <set>
#include <string>

#include "generator/template_library.h"

namespace dcnjit::nvrtc {

namespace {

// NVRTC writes a header's location as it was included ("templates/x.cuh"), possibly with a prefix.
bool names_template(std::string_view file, std::string_view path) {
  if (file == path) return true;
  return file.size() > path.size() && file.ends_with(path) && file[file.size() - path.size() - 1] == '/';
}

}  // namespace

std::string numbered_excerpt(std::string_view text, int line, int context) {
  std::string out;
  int number = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t newline = text.find('\n', start);
    if (newline == std::string_view::npos) newline = text.size();
    if (number >= line - context && number <= line + context)
      out += fmt::format("{} {:4} | {}\n", number == line ? '>' : ' ', number, text.substr(start, newline - start));
    if (number > line + context || newline == text.size()) break;
    start = newline + 1;
    ++number;
  }
  return out;
}

std::string describe_compile_error(std::string_view kernel_name, std::string_view target, std::string_view program_name,
                                   std::string_view source, std::string_view log) {
  std::string message = fmt::format("nvrtc: compiling {} for {} failed:\n{}", kernel_name, target, log);
  if (!message.empty() && message.back() != '\n') message += '\n';
  // Locations look like "dcn_im2col_....cu(12): error: ..." or "templates/x.cuh(40): catastrophic error: ...".
  static const std::regex location(R"(([^\s()]+)\((\d+)\): (catastrophic )?error)");
  const std::string log_text(log);
  std::set<std::pair<std::string, int>> shown;
  for (auto it = std::sregex_iterator(log_text.begin(), log_text.end(), location); it != std::sregex_iterator(); ++it) {
    const std::string file = (*it)[1];
    const int line = std::stoi((*it)[2]);
    if (!shown.insert({file, line}).second) continue;
    std::string_view text;
    if (file == program_name) {
      text = source;
    } else {
      for (const gen::TemplateFile& t : gen::template_library())
        if (names_template(file, t.path)) text = t.contents;
    }
    if (text.empty()) continue;
    message += fmt::format("\n{} line {}:\n{}", file, line, numbered_excerpt(text, line));
  }
  return message;
}

}  // namespace dcnjit::nvrtc
