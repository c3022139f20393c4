#include "core/file_trust.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace dcnjit::detail {

namespace fs = std::filesystem;

namespace {

bool trusted_owner(uid_t uid) { return uid == geteuid() || uid == 0; }

std::string mode_text(mode_t mode) { return fmt::format("{:04o}", unsigned(mode & 07777)); }

// This user's private group: the primary group, named after the user, with no listed members.
bool is_private_group(gid_t gid) {
  if (gid != getegid()) return false;
  std::vector<char> buffer(16384);
  group grp{};
  group* found_group = nullptr;
  if (getgrgid_r(gid, &grp, buffer.data(), buffer.size(), &found_group) != 0 || !found_group) return false;
  if (found_group->gr_mem && found_group->gr_mem[0]) return false;
  const std::string group_name = found_group->gr_name ? found_group->gr_name : "";
  std::vector<char> user_buffer(16384);
  passwd user{};
  passwd* found_user = nullptr;
  if (getpwuid_r(geteuid(), &user, user_buffer.data(), user_buffer.size(), &found_user) != 0 || !found_user)
    return false;
  return found_user->pw_name && group_name == found_user->pw_name;
}

bool writable_by_others(const struct stat& st) {
  return (st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && !is_private_group(st.st_gid));
}

std::string owner_problem(const struct stat& st) {
  return fmt::format("is owned by uid {} (neither this user, uid {}, nor root)", st.st_uid, geteuid());
}

// The problem with one directory on the way (stat'ed through links), "" when none.
std::string directory_problem(const struct stat& st, bool is_the_directory) {
  if (!S_ISDIR(st.st_mode)) return "is not a directory";
  if (!trusted_owner(st.st_uid)) return owner_problem(st);
  if (writable_by_others(st) && (is_the_directory || !(st.st_mode & S_ISVTX)))
    return fmt::format("is writable by other users (mode {})", mode_text(st.st_mode));
  return "";
}

// The symbolic links along `path` as written (each prefix), which another user must not own: they
// could point them elsewhere at any time.
std::string link_problem(const fs::path& path) {
  fs::path prefix;
  for (const fs::path& part : path) {
    if (part.empty()) continue;
    prefix /= part;
    struct stat st {};
    if (lstat(prefix.c_str(), &st) != 0) return "";  // missing parts are reported by the caller
    if (S_ISLNK(st.st_mode) && !trusted_owner(st.st_uid))
      return fmt::format("goes through the symbolic link {}, which {}", prefix.string(), owner_problem(st));
  }
  return "";
}

}  // namespace

std::string untrusted_directory_reason(const fs::path& dir) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(dir, ec).lexically_normal();
  if (ec) return fmt::format("cannot be resolved ({})", ec.message());
  if (std::string problem = link_problem(absolute); !problem.empty()) return problem;
  const fs::path real = fs::canonical(absolute, ec);
  if (ec) return fmt::format("cannot be examined ({})", ec.message());
  for (fs::path at = real;; at = at.parent_path()) {
    struct stat st {};
    if (stat(at.c_str(), &st) != 0)
      return fmt::format("cannot be examined: {} ({})", at.string(), std::strerror(errno));
    const bool is_the_directory = at == real;
    if (std::string problem = directory_problem(st, is_the_directory); !problem.empty())
      return is_the_directory ? problem : fmt::format("is inside {}, which {}", at.string(), problem);
    if (at == at.parent_path()) break;
  }
  return "";
}

std::string untrusted_file_reason(const fs::path& file) {
  struct stat st {};
  if (lstat(file.c_str(), &st) != 0) return "";
  if (S_ISLNK(st.st_mode)) {
    if (!trusted_owner(st.st_uid)) return "is a symbolic link that " + owner_problem(st);
    if (stat(file.c_str(), &st) != 0) return "is a symbolic link to nothing";
  }
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (!trusted_owner(st.st_uid)) return owner_problem(st);
  if (writable_by_others(st)) return fmt::format("is writable by other users (mode {})", mode_text(st.st_mode));
  return "";
}

void create_private_directories(const fs::path& dir) {
  const fs::path absolute = fs::absolute(dir).lexically_normal();
  fs::path prefix;
  for (const fs::path& part : absolute) {
    if (part.empty()) continue;
    prefix /= part;
    if (mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    // A missing parent we could not create, permissions, a read-only file system: report this part.
    throw fs::filesystem_error("cannot create directory", prefix, std::error_code(errno, std::generic_category()));
  }
}

}  // namespace dcnjit::detail
