// Umbrella header.
#pragma once

#include "dcnjit/config.h"
#include "dcnjit/engine.h"
#include "dcnjit/error.h"
#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"
