#pragma once
/// \file The one source of PAT's defaults: every PAT option struct (QuantizerOptions, PyramidTokenizerOptions,
/// PyramidDecoderOptions, PyramidFusionOptions, PyramidAuxHeadOptions, PyramidPatOptions) takes the default
/// of each field that has a config counterpart from `model.pat.*` / `model.head.*` (include/pat/config/config.h),
/// so a default-constructed module is the module a default config builds.

#include "pat/config/config.h"

namespace pat::model {

/// The default `model.pat:` section.
inline const PatConfig& pat_config_defaults() {
  static const PatConfig defaults;
  return defaults;
}

/// The default `model.head:` section (the guidance widths PAT's semantic branch adds to).
inline const HeadConfig& head_config_defaults() {
  static const HeadConfig defaults;
  return defaults;
}

}  // namespace pat::model
