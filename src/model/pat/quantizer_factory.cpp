#include "pat/model/pat/quantizer_factory.h"

#include <memory>

#include "pat/core/error.h"
#include "pat/model/pat/quantizer_ema.h"
#include "pat/model/pat/quantizer_loss.h"

namespace pat::model {

Quantizer make_quantizer(const std::string& kind, const QuantizerOptions& options) {
  if (kind == "ema") return Quantizer(std::shared_ptr<QuantizerImpl>(std::make_shared<EmaQuantizerImpl>(options)));
  if (kind == "loss") return Quantizer(std::shared_ptr<QuantizerImpl>(std::make_shared<LossQuantizerImpl>(options)));
  std::string known;
  for (const auto& k : quantizer_kinds()) known += (known.empty() ? "" : ", ") + k;
  PAT_FAIL("quantizer: expected a kind among {", known, "}, got \"", kind, "\"");
}

std::vector<std::string> quantizer_kinds() {
  return {"ema", "loss"};
}

}  // namespace pat::model
