// The sim's <cuda_pipeline_primitives.h>: the cp.async primitives (dcnjit_sim/simt_pipeline.h).
#pragma once

#include "dcnjit_sim/simt_pipeline.h"
