// Which directories and files dcnjit may load from. dcnjit executes what it finds in the sim work
// directory (precompiled headers, shared objects) and trusts what it reads from its caches (compiled
// kernels, tuned configs), so none of them may be somewhere another local user can write: that user
// could otherwise make a victim's process run their code (README.md, "Security").
//
// The rule, for a directory: it and every directory above it are owned by this user or root, and none
// is writable by other users. "Other users" are the world and the group, except a group that is this
// user's own private group (its primary group with no other members, as Debian's user private groups).
// An ancestor with the sticky bit (/tmp) may be world-writable: nobody else can rename or remove what
// is in it. A symbolic link on the way must itself be owned by this user or root. For a file: a
// regular file in such a directory, owned by this user or root, not writable by other users.
#pragma once

#include <filesystem>
#include <string>

namespace dcnjit::detail {

// Why `dir` is not trusted, as a phrase that completes "<dir> ..." (e.g. "is writable by other users
// (mode 0777)", "is owned by uid 65534"), or "" when it is trusted. A missing directory is not trusted.
std::string untrusted_directory_reason(const std::filesystem::path& dir);

// The same for a file; "" also when the file does not exist (there is nothing to distrust yet: the
// directory's trust decides who may create it).
std::string untrusted_file_reason(const std::filesystem::path& file);

// Creates `dir` and its missing parents, each with mode 0700 (directories that exist are left alone).
// Throws std::filesystem::filesystem_error.
void create_private_directories(const std::filesystem::path& dir);

}  // namespace dcnjit::detail
