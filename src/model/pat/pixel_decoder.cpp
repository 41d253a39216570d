#include "pat/model/pat/pixel_decoder.h"

#include <algorithm>

#include <torch/torch.h>

#include "model/pat/detail/residual_block.h"
#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/pat/pyramid_tokenizer.h"

namespace pat::model {

namespace F = torch::nn::functional;

PyramidDecoderImpl::PyramidDecoderImpl(PyramidDecoderOptions options, int64_t code_dim, std::vector<int64_t> levels)
    : options_(std::move(options)), code_dim_(code_dim), levels_(std::move(levels)) {
  PAT_CHECK(code_dim_ > 0, "pat.decoder: expected a positive code dim, got ", code_dim_);
  PAT_CHECK(!levels_.empty(), "pat.decoder: expected at least one used level");
  pyramid_check_levels(levels_, levels_.back() + 1, "pat.levels");
  const int64_t stages = static_cast<int64_t>(options_.stage_dims.size()) - (options_.full_resolution ? 0 : 1);
  PAT_CHECK(stages >= 1, "pat.decoder.stage_dims: expected at least ", options_.full_resolution ? 1 : 2,
            " stages (full_resolution ", options_.full_resolution, "), got ", options_.stage_dims.size());
  PAT_CHECK(options_.groups > 0, "pat.decoder.groups: expected > 0, got ", options_.groups);
  PAT_CHECK(options_.out_channels > 0, "pat.decoder.out_channels: expected > 0, got ", options_.out_channels);
  const int64_t top = levels_.back();
  for (auto l : levels_) {
    PAT_CHECK(l == top || top - l - 1 < stages, "pat.decoder: used level ", l, " joins after stage ", top - l,
              " but only ", stages, " stages run");
  }
  stages_ = register_module("stages", torch::nn::ModuleList());
  int64_t channels = code_dim_;
  for (int64_t s = 0; s < stages; ++s) {
    const int64_t joining = top - s - 1;
    const bool used = joining >= 0 && std::find(levels_.begin(), levels_.end(), joining) != levels_.end();
    skips_.push_back(used ? joining : -1);
    const int64_t in = channels + (used ? code_dim_ : 0), out = options_.stage_dims[s];
    PAT_CHECK(out > 0 && out % options_.groups == 0, "pat.decoder.stage_dims: expected positive multiples of groups ",
              options_.groups, ", got ", out);
    stages_->push_back(detail::ResidualBlock(in, out, options_.groups));
    channels = out;
  }
  head_ = register_module("head",
                          torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, options_.out_channels, 3).padding(1)));
}

torch::Tensor PyramidDecoderImpl::forward(const std::vector<torch::Tensor>& quantized) {
  PAT_PROFILE_SCOPE("pat.pixel_decoder");
  const int64_t top = levels_.back();
  auto check_level = [&](int64_t l) {
    PAT_CHECK(static_cast<int64_t>(quantized.size()) > l && quantized[l].defined() && quantized[l].dim() == 4 &&
                  quantized[l].size(1) == code_dim_,
              "pyramid decoder: expected quantized level ", l, " [B, ", code_dim_, ", H, W]");
  };
  check_level(top);
  auto x = quantized[top];
  for (int64_t s = 0; s < num_stages(); ++s) {
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{x.size(2) * 2, x.size(3) * 2})
                              .mode(torch::kBilinear)
                              .align_corners(false));
    if (skips_[s] >= 0) {
      check_level(skips_[s]);
      const auto& skip = quantized[skips_[s]];
      PAT_CHECK(skip.size(0) == x.size(0) && skip.size(2) == x.size(2) && skip.size(3) == x.size(3),
                "pyramid decoder: level ", skips_[s], " is ", skip.sizes(), " but stage ", s, " runs at ", x.sizes(),
                " (each level must be 2x coarser than the previous)");
      x = torch::cat({x, skip}, 1);
    }
    x = stages_->ptr<detail::ResidualBlockImpl>(s)->forward(x);
  }
  return head_->forward(x);
}

}  // namespace pat::model
