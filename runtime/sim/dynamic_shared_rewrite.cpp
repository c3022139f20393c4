#include "runtime/sim/dynamic_shared_rewrite.h"

#include <regex>

namespace dcnjit::sim {

std::string rewrite_dynamic_shared(std::string_view source) {
  // [^;\[\]{}] keeps a match inside one declaration; the type may span several tokens.
  static const std::regex declaration(R"(extern\s+__shared__\s+([^;\[\]{}]*?)\s*\b(\w+)\s*\[\s*\]\s*;)");
  static const std::regex alignment(R"((__align__|alignas)\s*\([^)]*\))");
  std::string out;
  std::size_t copied = 0;
  const std::string text(source);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), declaration); it != std::sregex_iterator(); ++it) {
    const std::smatch& match = *it;
    out.append(text, copied, std::size_t(match.position(0)) - copied);
    std::string type = std::regex_replace(match[1].str(), alignment, "");
    type.erase(0, type.find_first_not_of(" \t\n"));
    type.erase(type.find_last_not_of(" \t\n") + 1);
    out += type + "* " + match[2].str() + " = ::dcnjit_sim::dynamic_shared<" + type + ">();";
    copied = std::size_t(match.position(0) + match.length(0));
  }
  out.append(text, copied, std::string::npos);
  return out;
}

}  // namespace dcnjit::sim
