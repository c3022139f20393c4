#include "generator/kernel_source.h"

namespace dcnjit::gen {

const char* to_string(KernelKind kind) {
  switch (kind) {
    case KernelKind::im2col: return "im2col";
    case KernelKind::col2im: return "col2im";
    case KernelKind::coord: return "coord";
    case KernelKind::col2im_coord: return "col2im_coord";
    case KernelKind::bias_grad: return "bias_grad";
    case KernelKind::cast: return "cast";
    case KernelKind::reduce: return "reduce";
  }
  return "?";
}

}  // namespace dcnjit::gen
