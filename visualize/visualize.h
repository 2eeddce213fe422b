// The visualization library in one include (DESIGN section 4): sessions and their images
// (session.h), feature layers and receptive fields (feature_layers.h), top-k mining (mining.h),
// deconvnet projections (projection.h), pictures and figures (render.h), HDF5 dumps (dumps.h), and
// the two tools' runs (project_run.h, evolve_run.h).
#pragma once

#include "visualize/dumps.h"
#include "visualize/evolve_run.h"
#include "visualize/feature_layers.h"
#include "visualize/mining.h"
#include "visualize/project_run.h"
#include "visualize/projection.h"
#include "visualize/render.h"
#include "visualize/session.h"
