#include "pat/model/catseg/aggregator_layer.h"

#include <torch/torch.h>

namespace pat::model {

AggregatorLayerImpl::AggregatorLayerImpl(const AggregatorLayerOptions& options_) : options(options_) {
  swin_block = register_module("swin_block", SpatialAggregation(SpatialAggregationOptions{
                                                 options.hidden_dim, options.appearance_guidance_dim,
                                                 options.input_resolution, options.num_heads, options.window_size}));
  attention = register_module("attention", ClassAggregation(ClassAggregationOptions{
                                               options.hidden_dim, options.text_guidance_dim, options.num_heads,
                                               options.pooling_size, options.eval_pooling_size, options.pad_len}));
}

torch::Tensor AggregatorLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& appearance_guidance,
                                           const torch::Tensor& text_guidance) {
  return attention(swin_block(x, appearance_guidance), text_guidance);
}

torch::Tensor AggregatorLayerImpl::forward_tokens(const torch::Tensor& x, const torch::Tensor& appearance_guidance,
                                                  const torch::Tensor& text_guidance, bool in_place) {
  auto y = swin_block->forward_tokens(x, appearance_guidance, in_place);
  return attention->forward_tokens(y, text_guidance, /*in_place=*/true);  // y is this layer's own tensor
}

}  // namespace pat::model
