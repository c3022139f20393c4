// DeviceBuffer: caller-owned memory on an engine's backend.
#include <fmt/format.h>

#include "dcnjit/engine.h"
#include "runtime/backend.h"

namespace dcnjit {

DeviceBuffer::DeviceBuffer(std::shared_ptr<detail::BackendImpl> backend, std::size_t bytes)
    : backend_(std::move(backend)), bytes_(bytes) {
  data_ = backend_->allocate(bytes);
}

DeviceBuffer::~DeviceBuffer() {
  if (data_) backend_->release(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : backend_(std::move(other.backend_)), data_(other.data_), bytes_(other.bytes_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) backend_->release(data_);
    backend_ = std::move(other.backend_);
    data_ = other.data_;
    bytes_ = other.bytes_;
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes, void* stream) {
  if (bytes > bytes_)
    throw Error(ErrorCode::InvalidArgument, fmt::format("upload: {} bytes exceed the buffer's {}", bytes, bytes_));
  backend_->copy_to_device(data_, host, bytes, stream);
}

void DeviceBuffer::download(void* host, std::size_t bytes, void* stream) const {
  if (bytes > bytes_)
    throw Error(ErrorCode::InvalidArgument, fmt::format("download: {} bytes exceed the buffer's {}", bytes, bytes_));
  backend_->copy_to_host(host, data_, bytes, stream);
}

TensorRef DeviceBuffer::tensor(DType dtype, std::initializer_list<int64_t> shape) const {
  TensorRef t = TensorRef::contiguous(data_, dtype, backend_ ? backend_->device() : Device::cpu, shape);
  const std::size_t need = std::size_t(t.numel()) * dtype_size(dtype);
  if (need > bytes_)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("tensor: shape {} needs {} bytes but the buffer has {}", t.shape_string(), need, bytes_));
  return t;
}

}  // namespace dcnjit
