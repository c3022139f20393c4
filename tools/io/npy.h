// .npy files (NumPy's array format, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// the way tensors enter and leave the CLI, the golden fixtures and the benchmarks.
//
// Reading accepts little-endian, C-order float32, float16 and float64 arrays with a version 1.0 or 2.0
// header and converts them to float32 (f16 exactly, f64 rounded to nearest; a finite f64 value beyond
// float32's range is an error, not an Inf). Anything else (big-endian,
// Fortran order, integer dtypes, truncated data, a corrupt header) is Error(IoError) whose message names
// the file and says what was found. Writing always produces float32, version 1.0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dcnjit::io {

// A float32 host array with its shape, row-major: what read_npy() returns and what the CLI writes.
struct HostArray {
  std::vector<int64_t> shape;  // empty for a 0-d array (one element)
  std::vector<float> data;

  int64_t numel() const;
  std::string shape_string() const;  // "[2, 18, 5, 7]"
};

// The multi-index of element `flat` of a row-major array of `shape`, as "[0, 2, 1]".
std::string element_index_text(const std::vector<int64_t>& shape, std::size_t flat);

// Reads `path`; errors name the file.
HostArray read_npy(const std::filesystem::path& path);

// Parses the bytes of a .npy file; `name` is the file name used in error messages.
HostArray parse_npy(std::string_view bytes, const std::string& name);

// Writes `data` (numel(shape) float32 values, row-major) to `path` as a version 1.0 .npy file.
void write_npy(const std::filesystem::path& path, std::span<const float> data, const std::vector<int64_t>& shape);
inline void write_npy(const std::filesystem::path& path, const HostArray& array) {
  write_npy(path, array.data, array.shape);
}

// The bytes write_npy() puts in a file; `name` only serves error messages.
std::string format_npy(std::span<const float> data, const std::vector<int64_t>& shape, const std::string& name);

}  // namespace dcnjit::io
