#include "pat/model/pat/fusion.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/profile_scope.h"
#include "pat/model/pat/pyramid_tokenizer.h"

namespace pat::model {

namespace F = torch::nn::functional;

PyramidFusionImpl::PyramidFusionImpl(PyramidFusionOptions options, int64_t code_dim, std::vector<int64_t> levels)
    : options_(std::move(options)), code_dim_(code_dim), levels_(std::move(levels)) {
  PAT_CHECK(code_dim_ > 0, "pat.fusion: expected a positive code dim, got ", code_dim_);
  PAT_CHECK(!levels_.empty(), "pat.fusion: expected at least one used level");
  pyramid_check_levels(levels_, levels_.back() + 1, "pat.levels");
  PAT_CHECK(options_.fused_dim > 0, "pat.fusion.fused_dim: expected > 0, got ", options_.fused_dim);
  PAT_CHECK(!options_.guidance_dims.empty(), "pat.fusion.guidance_dims: expected one entry per guidance, got none");
  const int64_t in = code_dim_ * static_cast<int64_t>(levels_.size());
  const size_t resolutions = options_.guidance_dims.size();
  fuse_ = register_module("fuse", torch::nn::ModuleList());
  project_ = register_module("project", torch::nn::ModuleList());
  for (size_t r = 0; r < (options_.shared ? 1 : resolutions); ++r) {
    fuse_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, options_.fused_dim, 1)));
  }
  for (auto dim : options_.guidance_dims) {
    PAT_CHECK(dim > 0, "pat.fusion.guidance_dims: expected positive channel counts, got ", dim);
    torch::nn::Conv2d projection(torch::nn::Conv2dOptions(options_.fused_dim, dim, 1));
    if (options_.zero_init) {
      torch::NoGradGuard no_grad;
      projection->weight.zero_();
      projection->bias.zero_();
    }
    project_->push_back(projection);
  }
}

PyramidFusionOutput PyramidFusionImpl::forward(const std::vector<torch::Tensor>& quantized,
                                               const std::vector<std::array<int64_t, 2>>& sizes) {
  PAT_PROFILE_SCOPE("pat.fusion");
  PAT_CHECK(sizes.size() == options_.guidance_dims.size(), "pyramid fusion: expected ", options_.guidance_dims.size(),
            " guidance sizes (coarse first), got ", sizes.size());
  std::vector<torch::Tensor> maps;
  for (auto l : levels_) {
    PAT_CHECK(static_cast<int64_t>(quantized.size()) > l && quantized[l].defined() && quantized[l].dim() == 4 &&
                  quantized[l].size(1) == code_dim_,
              "pyramid fusion: expected quantized level ", l, " [B, ", code_dim_, ", H, W]");
    PAT_CHECK(maps.empty() || quantized[l].size(0) == maps.front().size(0), "pyramid fusion: batch differs at level ",
              l);
    maps.push_back(quantized[l]);
  }
  PyramidFusionOutput out;
  for (size_t r = 0; r < sizes.size(); ++r) {
    PAT_CHECK(sizes[r][0] > 0 && sizes[r][1] > 0, "pyramid fusion: expected positive guidance sizes, got ", sizes[r][0],
              "x", sizes[r][1]);
    std::vector<torch::Tensor> resampled;
    for (const auto& m : maps) {
      if (m.size(2) == sizes[r][0] && m.size(3) == sizes[r][1]) {
        resampled.push_back(m);
      } else {
        resampled.push_back(F::interpolate(m, F::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{sizes[r][0], sizes[r][1]})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false)));
      }
    }
    auto fuse = fuse_->ptr<torch::nn::Conv2dImpl>(options_.shared ? 0 : r);
    auto fused = torch::relu(fuse->forward(torch::cat(resampled, 1)));
    out.residuals.push_back(project_->ptr<torch::nn::Conv2dImpl>(r)->forward(fused));
    out.fused.push_back(fused);
  }
  return out;
}

}  // namespace pat::model
