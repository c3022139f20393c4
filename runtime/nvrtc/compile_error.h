// Turns an NVRTC error log into a message a person can act on: the log itself, then for every
// "file(line): error" it names, the source lines around it, numbered, with the failing line marked.
// Lines are taken from the generated source (the program) or from the embedded template it names.
#pragma once

#include <string>
#include <string_view>

namespace dcnjit::nvrtc {

// `program_name` is the name the source was compiled under (it prefixes the log's locations).
std::string describe_compile_error(std::string_view kernel_name, std::string_view target, std::string_view program_name,
                                   std::string_view source, std::string_view log);

// Lines [line - context, line + context] of `text`, each "  NNN | text", the line itself marked ">".
std::string numbered_excerpt(std::string_view text, int line, int context = 3);

}  // namespace dcnjit::nvrtc
