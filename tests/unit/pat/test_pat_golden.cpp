// PAT's modules against the independent float64 Python reference of tools/gen_pat_golden.py
// (tests/data/pat/): the tokenizer (projections, bottom-up composition, nearest codes, commitment,
// perplexity, usage, one EMA update, unused-step counters), the pixel decoder (full and half resolution),
// the semantic fusion (shared and per level), the aux head, and the composite PyramidPat.
#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/safetensors.h"
#include "pat/model/pat/pyramid_pat.h"
#include "pat/model/pat/quantizer_ema.h"
#include "test_support.h"

namespace {

using namespace pat::model;

/// The generator's CFG.
PyramidPatOptions golden_options() {
  PyramidPatOptions o;
  o.tokenizer.level_channels = {6, 8, 10};
  o.tokenizer.levels = {0, 1, 2};
  o.tokenizer.quantizer = "ema";
  o.tokenizer.compose = true;
  o.tokenizer.codebook.dim = 4;
  o.tokenizer.codebook.codebook_size = 8;
  o.tokenizer.codebook.decay = 0.9;
  o.tokenizer.codebook.dead_code_steps = 0;
  o.decoder.stage_dims = {8, 8, 8, 4};
  o.decoder.groups = 4;
  o.decoder.full_resolution = true;
  o.fusion.fused_dim = 8;
  o.fusion.guidance_dims = {6, 4, 2};
  o.fusion.shared = true;
  o.aux.text_dim = 5;
  return o;
}

const pat::SafeTensors& weights() {
  static const auto w = pat::read_safetensors(pat::test::data_path("pat/tiny_weights.safetensors"));
  return w;
}

torch::Tensor io(const std::string& name) {
  static const auto g = pat::read_safetensors(pat::test::data_path("pat/tiny_io.safetensors"));
  auto it = g.tensors.find(name);
  if (it == g.tensors.end()) {
    ADD_FAILURE() << "fixture has no " << name;
    return torch::Tensor();
  }
  return it->second;
}

/// Copies weights()[prefix + name] into every parameter and buffer of `module`; every tensor of the
/// fixture under `prefix` must be used and every parameter / buffer found.
void load(torch::nn::Module& module, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  const auto& tensors = weights().tensors;
  std::set<std::string> used;
  auto copy = [&](const std::string& key, torch::Tensor& target) {
    auto it = tensors.find(prefix + key);
    if (it == tensors.end()) {
      ADD_FAILURE() << "fixture lacks " << prefix + key;
      return;
    }
    ASSERT_EQ(it->second.sizes(), target.sizes()) << key;
    target.copy_(it->second);
    used.insert(it->first);
  };
  for (auto& p : module.named_parameters()) copy(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy(b.key(), b.value());
  for (const auto& [name, tensor] : tensors)
    if (name.rfind(prefix, 0) == 0) EXPECT_TRUE(used.count(name)) << "unused fixture tensor " << name;
}

std::vector<torch::Tensor> inputs() {
  return {io("input.l0"), io("input.l1"), io("input.l2")};
}

std::vector<torch::Tensor> golden_quantized() {
  return {io("l0.quantized"), io("l1.quantized"), io("l2.quantized")};
}

const std::vector<std::array<int64_t, 2>> kGuidanceSizes = {{4, 3}, {8, 6}, {16, 12}};

}  // namespace

TEST(PatGolden, TokenizerMatchesTheReference) {
  PyramidTokenizer tok(golden_options().tokenizer);
  load(*tok, "tokenizer.");
  tok->train();
  auto out = tok->forward(inputs());
  for (int l = 0; l < 3; ++l) {
    const std::string p = "l" + std::to_string(l) + ".";
    EXPECT_TRUE(torch::equal(out.ids[l], io(p + "ids"))) << "level " << l;
    EXPECT_TENSOR_CLOSE(out.projected[l], io(p + "projected"), 1e-4, 1e-5);
    EXPECT_TENSOR_CLOSE(out.quantized[l], io(p + "quantized"), 1e-5, 1e-6);
    EXPECT_NEAR(out.perplexity[l].item<double>(), io(p + "perplexity").item<double>(), 1e-4) << "level " << l;
    EXPECT_NEAR(out.usage[l].item<double>(), io(p + "usage").item<double>(), 1e-6) << "level " << l;
    // One EMA update (training mode), then the end of the optimizer step.
    auto q = std::dynamic_pointer_cast<EmaQuantizerImpl>(tok->quantizer(l).ptr());
    ASSERT_TRUE(q);
    EXPECT_TENSOR_CLOSE(q->ema_counts(), io(p + "ema_counts"), 1e-5, 1e-6);
    EXPECT_TENSOR_CLOSE(q->ema_sums(), io(p + "ema_sums"), 1e-4, 1e-5);
    EXPECT_TENSOR_CLOSE(q->codebook(), io(p + "codebook_after"), 1e-4, 1e-5);
  }
  EXPECT_NEAR(out.commitment_loss.item<double>(), io("commitment").item<double>(), 1e-5);
  tok->end_step();
  for (int l = 0; l < 3; ++l)
    EXPECT_TRUE(torch::equal(tok->quantizer(l)->unused_steps(), io("l" + std::to_string(l) + ".unused_after")))
        << "level " << l;
}

TEST(PatGolden, DecoderFullAndHalfResolution) {
  auto o = golden_options().decoder;
  PyramidDecoder full(o, 4, std::vector<int64_t>{0, 1, 2});
  load(*full, "decoder.");
  o.full_resolution = false;
  PyramidDecoder half(o, 4, std::vector<int64_t>{0, 1, 2});
  load(*half, "decoder_half.");
  torch::NoGradGuard g;
  EXPECT_TENSOR_CLOSE(full->forward(golden_quantized()), io("reconstruction"), 1e-4, 1e-4);
  EXPECT_TENSOR_CLOSE(half->forward(golden_quantized()), io("reconstruction_half"), 1e-4, 1e-4);
}

TEST(PatGolden, FusionSharedAndPerLevel) {
  for (bool shared : {true, false}) {
    auto o = golden_options().fusion;
    o.shared = shared;
    PyramidFusion fusion(o, 4, std::vector<int64_t>{0, 1, 2});
    const std::string prefix = shared ? "fusion." : "fusion_per_level.";
    load(*fusion, prefix);
    torch::NoGradGuard g;
    auto out = fusion->forward(golden_quantized(), kGuidanceSizes);
    ASSERT_EQ(out.residuals.size(), 3u);
    for (int r = 0; r < 3; ++r) {
      EXPECT_TENSOR_CLOSE(out.fused[r], io(prefix + "fused." + std::to_string(r)), 1e-4, 1e-5) << prefix << r;
      EXPECT_TENSOR_CLOSE(out.residuals[r], io(prefix + "residual." + std::to_string(r)), 1e-4, 1e-5) << prefix << r;
    }
  }
}

TEST(PatGolden, AuxHead) {
  auto o = golden_options().aux;
  PyramidAuxHead head(o, 8);
  load(*head, "aux_head.");
  torch::NoGradGuard g;
  EXPECT_TENSOR_CLOSE(head->forward(io("fusion.fused.0"), io("input.text")), io("aux_logits"), 1e-4, 1e-5);
}

TEST(PatGolden, PyramidPatEndToEnd) {
  PyramidPat pat(golden_options());
  load(*pat->tokenizer(), "tokenizer.");
  load(*pat->decoder(), "decoder.");
  load(*pat->fusion(), "fusion.");
  load(*pat->aux_head(), "aux_head.");
  pat->eval();
  torch::NoGradGuard g;
  auto out = pat->forward(inputs(), io("input.text"));
  for (int l = 0; l < 3; ++l) EXPECT_TRUE(torch::equal(out.tokens.ids[l], io("l" + std::to_string(l) + ".ids")));
  EXPECT_TENSOR_CLOSE(out.reconstruction, io("reconstruction"), 1e-4, 1e-4);
  for (int r = 0; r < 3; ++r)
    EXPECT_TENSOR_CLOSE(out.guidance_residuals[r], io("fusion.residual." + std::to_string(r)), 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(out.aux_logits, io("aux_logits"), 1e-4, 1e-5);
  // The way back from token ids.
  EXPECT_TENSOR_CLOSE(pat->reconstruct(out.tokens.ids), io("reconstruction"), 1e-4, 1e-4);
}
