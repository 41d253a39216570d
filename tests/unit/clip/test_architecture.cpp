#include <gtest/gtest.h>

#include "clip_fixture.h"
#include "pat/clip/architecture.h"
#include "pat/core/error.h"

using namespace pat::clip;
using namespace pat::clip::test;

TEST(ClipArchitecture, PresetsMatchTheReleasedModels) {
  auto b16 = ClipArchitecture::preset("ViT-B-16");
  EXPECT_EQ(b16.vision_width, 768);
  EXPECT_EQ(b16.vision_patch_size, 16);
  EXPECT_EQ(b16.grid(), 14);
  EXPECT_EQ(b16.text_width, 512);
  EXPECT_EQ(b16.text_heads, 8);
  EXPECT_EQ(b16.embed_dim, 512);
  EXPECT_EQ(ClipArchitecture::preset("ViT-B/16"), b16);
  auto b32 = ClipArchitecture::preset("ViT-B-32");
  EXPECT_EQ(b32.vision_patch_size, 32);
  EXPECT_EQ(b32.grid(), 7);
  auto l14 = ClipArchitecture::preset("ViT-L-14");
  EXPECT_EQ(l14.vision_layers, 24);
  EXPECT_EQ(l14.vision_heads, 16);
  EXPECT_EQ(l14.text_width, 768);
  EXPECT_EQ(l14.text_heads, 12);
  EXPECT_EQ(l14.grid(), 16);
  auto l336 = ClipArchitecture::preset("ViT-L-14-336");
  EXPECT_EQ(l336.image_resolution, 336);
  EXPECT_EQ(l336.grid(), 24);
  for (const auto& name : ClipArchitecture::preset_names()) EXPECT_NO_THROW(ClipArchitecture::preset(name).validate());
  EXPECT_THROW(ClipArchitecture::preset("ViT-H-14"), pat::Error);
}

TEST(ClipArchitecture, ParameterCountsOfPresetsMatchTheReleasedFiles) {
  // CLIP.md §1: B/16 has 302 parameter tensors and 149,620,737 values (in_proj packed, buffers excluded).
  // Splitting q/k/v adds 2 tensors per block (24 blocks) and no values.
  ClipModel model(ClipArchitecture::preset("ViT-B-16"));
  int64_t tensors = 0, values = 0;
  for (const auto& p : model->parameters()) {
    ++tensors;
    values += p.numel();
  }
  EXPECT_EQ(tensors - 2 * 24, 302);
  EXPECT_EQ(values, 149620737);
}

TEST(ClipArchitecture, InfersTheTinyFixture) {
  auto weights = load_clip_weights(fixture("tiny_clip.pt"));
  EXPECT_EQ(infer_clip_architecture(weights, kTinyHeadDim), tiny_architecture());
  // OpenAI's head_dim 64 cannot divide the 32-wide text tower.
  EXPECT_THROW(infer_clip_architecture(weights), pat::Error);
}

TEST(ClipArchitecture, InfersFromSplitNamesAndRejectsIncompleteWeights) {
  ClipModel model(ClipArchitecture::preset("tiny"));
  auto weights = clip_state_dict(*model);
  EXPECT_EQ(infer_clip_architecture(weights, 32), ClipArchitecture::preset("tiny"));
  auto no_proj = weights;
  no_proj.erase("visual.proj");
  EXPECT_THROW(infer_clip_architecture(no_proj, 32), pat::Error);
  auto no_ln = weights;
  no_ln.erase("ln_final.weight");
  EXPECT_THROW(infer_clip_architecture(no_ln, 32), pat::Error);
}

TEST(ClipArchitecture, ValidateRejectsBadSizes) {
  auto a = tiny_architecture();
  a.vision_heads = 3;
  EXPECT_THROW(a.validate(), pat::Error);
  a = tiny_architecture();
  a.image_resolution = 30;
  EXPECT_THROW(a.validate(), pat::Error);
  a = tiny_architecture();
  a.text_layers = 0;
  EXPECT_THROW(ClipModel{a}, pat::Error);
}
