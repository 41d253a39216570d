#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clip_fixture.h"
#include "pat/clip/finetune.h"
#include "pat/clip/prompt_templates.h"
#include "pat/clip/text_embedder.h"
#include "pat/core/error.h"
#include "pat/core/resources.h"

using namespace pat::clip;
using namespace pat::clip::test;

namespace {

std::shared_ptr<const Tokenizer> byte_tokenizer() {
  static auto tokenizer = std::make_shared<const Tokenizer>(Tokenizer::byte_level());
  return tokenizer;
}

/// Independent composition of the pieces: per-prompt embeddings, normalized, averaged, normalized.
torch::Tensor expected_embedding(ClipModel& model, const std::string& class_name, const std::string& templates) {
  auto prompts = class_prompts(class_name, prompt_templates(templates));
  auto e = model->encode_text(byte_tokenizer()->tokenize_batch(prompts, 48, true));
  e = e / e.norm(2, -1, true);
  auto mean = e.mean(0);
  return mean / mean.norm();
}

ClipModel fresh_tiny_model() {
  ClipLoadOptions options;
  options.head_dim = kTinyHeadDim;
  return load_clip(fixture("tiny_clip.pt"), options);
}

}  // namespace

TEST(ClipTextEmbedder, SingleTemplateUsesTheFirstSynonym) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  TextEmbedder embedder(model, byte_tokenizer());
  auto e = embedder.compute({"building, edifice", "sky"});
  ASSERT_EQ(e.sizes(), torch::IntArrayRef({2, 32}));
  auto ids = byte_tokenizer()->tokenize_batch({"A photo of a building in the scene"}, 48);
  auto direct = model->encode_text(ids)[0];
  EXPECT_TENSOR_CLOSE(e[0], direct / direct.norm(), 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(e.norm(2, -1), torch::ones({2}), 1e-5, 1e-6);
}

TEST(ClipTextEmbedder, AveragesNormalizedTemplateEmbeddings) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  TextEmbedder embedder(model, byte_tokenizer(), TextEmbedderOptions{"imagenet_select", true, 3});
  EXPECT_EQ(embedder.templates().size(), 8u);
  auto e = embedder.compute({"sofa, couch", "cat"});
  EXPECT_TENSOR_CLOSE(e[0], expected_embedding(model, "sofa", "imagenet_select"), 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(e[1], expected_embedding(model, "cat", "imagenet_select"), 1e-5, 1e-6);
  EXPECT_EQ(embedder.prompt_tokens({"sofa, couch", "cat"}).sizes(), torch::IntArrayRef({16, 48}));
}

TEST(ClipTextEmbedder, CachesPerVocabulary) {
  auto model = tiny_model();
  TextEmbedder embedder(model, byte_tokenizer());
  auto a = embedder.cached({"cat", "dog"});
  EXPECT_FALSE(a.requires_grad());
  EXPECT_EQ(embedder.cached({"cat", "dog"}).data_ptr(), a.data_ptr());  // reused
  auto b = embedder.cached({"cat", "dog", "sofa"});                     // another vocabulary
  EXPECT_EQ(b.size(0), 3);
  EXPECT_TENSOR_CLOSE(b.narrow(0, 0, 2), a, 1e-5, 1e-6);
  EXPECT_EQ(embedder.cached({"cat", "dog"}).data_ptr(), a.data_ptr());  // both kept
  embedder.clear_cache();
  EXPECT_NE(embedder.cached({"cat", "dog"}).data_ptr(), a.data_ptr());
  EXPECT_FALSE(model->is_training());
  EXPECT_EQ(embedder.embed({"cat", "dog"}).data_ptr(), embedder.cached({"cat", "dog"}).data_ptr());
}

TEST(ClipTextEmbedder, TrainingRecomputesWithGradients) {
  auto model = fresh_tiny_model();
  set_finetune_mode(*model, FinetuneMode::kAttention);
  model->train();
  TextEmbedder embedder(model, byte_tokenizer());
  auto before = embedder.cached({"cat"});  // no grad
  auto e = embedder.embed({"cat"});
  ASSERT_TRUE(e.requires_grad());
  e.sum().backward();
  auto grad = model->transformer->block(0)->attn->q_proj_weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  {
    torch::NoGradGuard no_grad;
    model->transformer->block(0)->attn->v_proj_weight.add_(0.1);  // a "training step"
  }
  model->eval();
  auto after = embedder.embed({"cat"});  // compute() in training cleared the cache
  EXPECT_NE(after.data_ptr(), before.data_ptr());
  EXPECT_FALSE(torch::allclose(after, before));
}

TEST(ClipTextEmbedder, LongPromptsAndErrors) {
  torch::NoGradGuard no_grad;
  auto model = tiny_model();
  const std::string long_name(60, 'x');  // 60 byte tokens > context 48
  TextEmbedder truncating(model, byte_tokenizer());
  EXPECT_EQ(truncating.compute({long_name}).size(0), 1);
  TextEmbedder strict(model, byte_tokenizer(), TextEmbedderOptions{"single", false});
  EXPECT_THROW(strict.compute({long_name}), pat::Error);
  EXPECT_THROW(strict.compute({}), pat::Error);
  EXPECT_THROW(TextEmbedder(model, byte_tokenizer(), TextEmbedderOptions{"nope"}), pat::Error);
  EXPECT_THROW(TextEmbedder(model, nullptr), pat::Error);
  // The real BPE vocabulary (49408 ids) does not fit the tiny model's 520 embeddings.
  auto bpe = std::make_shared<const Tokenizer>(Tokenizer::from_bpe_file(pat::default_vocab_path()));
  EXPECT_THROW(TextEmbedder(model, bpe), pat::Error);
}
