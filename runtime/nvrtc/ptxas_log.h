// Per-kernel resource usage from the ptxas verbose log (--ptxas-options=-v) that NVRTC returns with
// a cubin compile, so register count, spills and shared memory are known without a GPU:
//
//   ptxas info    : Compiling entry function 'dcn_im2col_...' for 'sm_90'
//   ptxas info    : Function properties for dcn_im2col_...
//   ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 39 registers, used 1 barriers, 1024 bytes smem, 568 bytes cmem[0]
#pragma once

#include <string_view>

namespace dcnjit::nvrtc {

struct KernelResources {
  bool known = false;  // false when the log has no section for the entry (PTX-only compile)
  int registers = 0;
  int spill_stores = 0;  // bytes
  int spill_loads = 0;   // bytes
  int shared_bytes = 0;  // static shared memory
  int stack_bytes = 0;   // stack frame
};

KernelResources parse_ptxas_log(std::string_view log, std::string_view entry);

}  // namespace dcnjit::nvrtc
