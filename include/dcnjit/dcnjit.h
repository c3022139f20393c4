// Umbrella header.
#pragma once

#include "dcnjit/args.h"
#include "dcnjit/config.h"
#include "dcnjit/engine.h"
#include "dcnjit/error.h"
#include "dcnjit/options.h"
#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"
