#include "runtime/cuda/stream_order.h"

namespace dcnjit::cuda {

void StreamOrder::before(CUstream stream) {
  if (recorded_ && stream != last_) ops_.wait(stream);
}

void StreamOrder::after(CUstream stream) {
  ops_.record(stream);
  recorded_ = true;
  last_ = stream;
}

void StreamOrder::before_free() {
  if (recorded_) ops_.synchronize();
}

}  // namespace dcnjit::cuda
