#include "runtime/sim/shared_object_check.h"

#include <elf.h>
#include <fmt/format.h>

#include <cstring>

namespace dcnjit::sim {

namespace {

// Whether [offset, offset + count * size) lies inside `total` bytes, without overflow.
bool inside(uint64_t offset, uint64_t count, uint64_t size, uint64_t total) {
  if (offset > total) return false;
  return size == 0 || count <= (total - offset) / size;
}

}  // namespace

std::string shared_object_problem(std::string_view bytes) {
  Elf64_Ehdr header;
  if (bytes.size() < sizeof header) return fmt::format("{} bytes are too few for an ELF header", bytes.size());
  std::memcpy(&header, bytes.data(), sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return "no ELF magic number";
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
    return "not a 64-bit little-endian ELF file";
  if (header.e_type != ET_DYN) return fmt::format("ELF type {} is not a shared object", header.e_type);
  if (header.e_phentsize != sizeof(Elf64_Phdr) || !inside(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr), bytes.size()))
    return "the program headers lie outside the file";
  if (header.e_shnum != 0 && !inside(header.e_shoff, header.e_shnum, header.e_shentsize, bytes.size()))
    return "the section header table lies outside the file (truncated)";
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, bytes.data() + header.e_phoff + i * sizeof segment, sizeof segment);
    if (segment.p_type == PT_LOAD && !inside(segment.p_offset, 1, segment.p_filesz, bytes.size()))
      return fmt::format("segment {} ends at byte {}, past the end of the file ({} bytes; truncated)", i,
                         segment.p_offset + segment.p_filesz, bytes.size());
  }
  return {};
}

}  // namespace dcnjit::sim
