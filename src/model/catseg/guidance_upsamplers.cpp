#include "pat/model/catseg/guidance_upsamplers.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/catseg/patch_upsample.h"

namespace pat::model {

namespace nn = torch::nn;

GuidanceUpsamplersImpl::GuidanceUpsamplersImpl(const GuidanceUpsamplersOptions& options_) : options(options_) {
  PAT_CHECK(options.width > 0 && options.upsample1_dim > 0 && options.upsample2_dim > 0,
            "GuidanceUpsamplers: expected positive channel counts, got width ", options.width, ", ",
            options.upsample1_dim, ", ", options.upsample2_dim);
  upsample1 = register_module(
      "upsample1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(options.width, options.upsample1_dim, 2).stride(2)));
  upsample2 = register_module(
      "upsample2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(options.width, options.upsample2_dim, 4).stride(4)));
}

std::tuple<torch::Tensor, torch::Tensor> GuidanceUpsamplersImpl::forward(const torch::Tensor& shallow_tap,
                                                                         const torch::Tensor& deep_tap) {
  PAT_PROFILE_SCOPE("catseg.upsamplers");
  PAT_CHECK(shallow_tap.dim() == 4 && shallow_tap.size(1) == options.width, "GuidanceUpsamplers: expected [B, ",
            options.width, ", h, w] for the shallow tap, got ", shallow_tap.sizes());
  PAT_CHECK(deep_tap.dim() == 4 && deep_tap.size(1) == options.width, "GuidanceUpsamplers: expected [B, ",
            options.width, ", h, w] for the deep tap, got ", deep_tap.sizes());
  return {patch_upsample(upsample1, shallow_tap), patch_upsample(upsample2, deep_tap)};
}

}  // namespace pat::model
