// A structural check of shared-object bytes before dlopen sees them. The loader maps segments
// straight from the file, so a truncated library (a torn cache entry, a full disk) can fault inside
// dlopen or at first use instead of failing cleanly; a library from the binary cache is checked
// here first and rebuilt when it is not whole.
#pragma once

#include <string>
#include <string_view>

namespace dcnjit::sim {

// "" when `bytes` are a complete 64-bit little-endian ELF shared object (header, program headers,
// every segment's file contents and the section header table lie inside the bytes); otherwise what
// is wrong, for messages. Checks structure only, not contents.
std::string shared_object_problem(std::string_view bytes);

}  // namespace dcnjit::sim
