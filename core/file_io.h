// Reading and writing the files a user names (.npy arrays, problem lists, cache exports, charts) without
// hanging. An input must be a regular file: a FIFO would block until someone writes to it and a device
// such as /dev/zero never ends, so both are refused before any read (a FIFO is opened non-blocking to
// find out), and a file is read only up to a stated bound. An output is opened without blocking: a FIFO
// that nobody reads is an error instead of a wait.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace dcnjit::detail {

// The whole contents of `path`, a regular file (or a link to one) of at most `max_bytes`. Throws
// Error(IoError) "<what> '<path>': ..." ("<path>: ..." when `what` is empty) for anything else: missing,
// unreadable, a directory, a FIFO, a device, or larger than `max_bytes`.
std::string read_regular_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what);

using OutputFile = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

// `path` opened for writing ("wb": created or truncated). A FIFO without a reader, a directory or a
// missing directory is Error(IoError) "<what> '<path>': ...", immediately; a FIFO with a reader and
// devices such as /dev/null or /dev/stdout are written as usual.
OutputFile open_output_file(const std::filesystem::path& path, std::string_view what);

}  // namespace dcnjit::detail
