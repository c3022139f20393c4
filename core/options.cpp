#include "dcnjit/options.h"

namespace dcnjit {

const char* to_string(TuningPolicy policy) {
  switch (policy) {
    case TuningPolicy::off: return "off";
    case TuningPolicy::on_first_use: return "on_first_use";
    case TuningPolicy::cache_only: return "cache_only";
  }
  return "?";
}

}  // namespace dcnjit
