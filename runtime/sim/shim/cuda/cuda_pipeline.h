// The sim's <cuda_pipeline.h>: the cp.async primitives (dcnjit_sim/simt_pipeline.h). The C++ pipeline
// classes of the toolkit's header (nvcuda::experimental::pipeline) are not emulated.
#pragma once

#include "dcnjit_sim/simt_pipeline.h"
