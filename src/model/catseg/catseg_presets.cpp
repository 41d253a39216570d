#include "pat/model/catseg/catseg_presets.h"

namespace pat::model {

CatSegOptions catseg_vit_b16_384() {
  CatSegOptions o;
  o.clip_model = "ViT-B/16";
  o.image_size = 384;
  o.hook_layers = {3, 7};
  o.upsamplers = GuidanceUpsamplersOptions{768, 256, 128};
  CatSegHeadOptions& h = o.head;
  h.text_guidance_dim = 512;
  h.text_guidance_proj_dim = 128;
  h.appearance_guidance_dim = 512;
  h.appearance_guidance_proj_dim = 128;
  h.decoder_dims = {64, 32};
  h.decoder_guidance_dims = {256, 128};
  h.decoder_guidance_proj_dims = {32, 16};
  h.num_layers = 2;
  h.num_heads = 4;
  h.hidden_dim = 128;
  h.pooling_size = 2;
  h.eval_pooling_size = 1;
  h.feature_resolution = {24, 24};
  h.window_size = 12;
  h.prompt_channel = 1;
  h.pad_len = 256;
  return o;
}

CatSegOptions catseg_vit_l14_336() {
  CatSegOptions o = catseg_vit_b16_384();
  o.clip_model = "ViT-L/14@336px";
  o.image_size = 336;
  o.hook_layers = {7, 15};
  o.upsamplers.width = 1024;
  o.head.text_guidance_dim = 768;
  o.head.appearance_guidance_dim = 768;
  return o;
}

}  // namespace pat::model
