#include "algorithms/fused/fused_tiles.h"

#include <algorithm>

namespace dcnjit::algo::fused {

std::size_t operand_bytes(MmaKind mma) { return mma == MmaKind::f16 || mma == MmaKind::bf16 ? 2 : 4; }

std::size_t shared_bytes(Kernel kernel, const FusedKnobs& k, MmaKind mma) {
  const std::size_t element = operand_bytes(mma);
  const std::size_t pad = 16 / element;
  const std::size_t lda = std::size_t(k.bk) + pad, ldb = std::size_t(k.bn) + pad, ldc = std::size_t(k.bn) + 4;
  const std::size_t pipeline = (std::size_t(k.stages) * k.bm * lda + 2 * std::size_t(k.bk) * ldb) * element;
  std::size_t epilogue = std::size_t(k.bm) * ldc * 4;
  if (kernel == Kernel::data_gradient && k.threads() > k.bn)
    epilogue += std::size_t(k.threads() / k.bn) * std::size_t(k.bn) * 5 * 4;
  return std::max(pipeline, epilogue);
}

}  // namespace dcnjit::algo::fused
