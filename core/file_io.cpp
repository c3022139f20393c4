#include "core/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dcnjit/error.h"
#include "core/host_memory.h"

namespace dcnjit::detail {

namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path, const std::string& why) {
  if (what.empty()) throw Error(ErrorCode::IoError, fmt::format("{}: {}", path.string(), why));
  throw Error(ErrorCode::IoError, fmt::format("{} '{}': {}", what, path.string(), why));
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

std::string read_regular_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, before fstat could tell.
  Descriptor file{open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (file.fd < 0) fail(what, path, fmt::format("cannot open for reading ({})", std::strerror(errno)));
  struct stat st {};
  if (fstat(file.fd, &st) != 0) fail(what, path, fmt::format("cannot be examined ({})", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) fail(what, path, "is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    fail(what, path, fmt::format("is {}; only a regular file can be read (reading this would block or never end)",
                                 kind_of(st.st_mode)));
  if (std::size_t(st.st_size) > max_bytes)
    fail(what, path, fmt::format("is {}, more than the {} allowed", byte_count_text(std::size_t(st.st_size)),
                                 byte_count_text(max_bytes)));
  std::string bytes = allocate_host(path.string(), std::size_t(st.st_size),
                                    [&] { return std::string(std::size_t(st.st_size), '\0'); });
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = read(file.fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(what, path, fmt::format("read error ({})", std::strerror(errno)));
    if (got == 0) break;  // shrank while being read: what is there
    done += std::size_t(got);
  }
  bytes.resize(done);
  return bytes;
}

OutputFile open_output_file(const std::filesystem::path& path, std::string_view what) {
  // O_NONBLOCK: a FIFO that nobody reads fails with ENXIO instead of waiting for a reader.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd < 0) {
    if (errno == ENXIO) fail(what, path, "is a FIFO that nobody reads; writing to it would wait forever");
    fail(what, path, fmt::format("cannot open for writing ({})", std::strerror(errno)));
  }
  // Writes themselves block as usual (a pipe whose reader is slow is not an error).
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  OutputFile file(fdopen(fd, "wb"), &std::fclose);
  if (!file) {
    close(fd);
    fail(what, path, fmt::format("cannot open for writing ({})", std::strerror(errno)));
  }
  return file;
}

}  // namespace dcnjit::detail
