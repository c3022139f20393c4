// The sim's <mma.h>: kernels that `#include <mma.h>` for nvcuda::wmma get the shim's emulation
// (dcnjit_sim/simt_wmma.h) instead of the toolkit's header, which has no host implementation.
#pragma once

#include "dcnjit_sim/simt_wmma.h"
