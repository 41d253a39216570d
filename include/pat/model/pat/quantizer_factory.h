#pragma once
/// \file String-to-quantizer construction (the one place that knows every kind's name).

#include <string>
#include <vector>

#include "pat/model/pat/quantizer.h"

namespace pat::model {

/// "ema" -> EmaQuantizer, "loss" -> LossQuantizer. An unknown kind is a `pat::Error` listing the kinds.
Quantizer make_quantizer(const std::string& kind, const QuantizerOptions& options);

/// The kinds make_quantizer accepts.
std::vector<std::string> quantizer_kinds();

}  // namespace pat::model
