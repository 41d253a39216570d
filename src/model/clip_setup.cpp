#include "pat/model/clip_setup.h"

#include "pat/core/error.h"
#include "pat/core/resources.h"

namespace pat::model {

int64_t tokenizer_vocab_size(const ClipConfig& c) {
  return c.tokenizer == "byte" ? 514 : 49408;
}

std::shared_ptr<const clip::Tokenizer> make_tokenizer(const ClipConfig& c) {
  if (c.tokenizer == "byte") return std::make_shared<clip::Tokenizer>(clip::Tokenizer::byte_level());
  return std::make_shared<clip::Tokenizer>(
      clip::Tokenizer::from_bpe_file(c.vocab.empty() ? default_vocab_path() : c.vocab));
}

clip::ClipArchitecture custom_clip_architecture(const ClipConfig& c) {
  PAT_CHECK(c.vision_width % c.head_width == 0 && c.text_width % c.head_width == 0,
            "model.clip.head_width: expected a divisor of vision_width and text_width, got ", c.head_width);
  clip::ClipArchitecture a;
  a.embed_dim = c.embed_dim;
  a.image_resolution = c.image_size;
  a.vision_layers = c.vision_layers;
  a.vision_width = c.vision_width;
  a.vision_patch_size = c.vision_patch;
  a.vision_heads = c.vision_width / c.head_width;
  a.context_length = c.context_length;
  a.vocab_size = tokenizer_vocab_size(c);
  a.text_width = c.text_width;
  a.text_heads = c.text_width / c.head_width;
  a.text_layers = c.text_layers;
  a.validate();
  return a;
}

}  // namespace pat::model
