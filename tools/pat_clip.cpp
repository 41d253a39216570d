// pat_clip: CLIP utilities over the library: pretrain a CLIP on captioned synthetic scenes, tokenize text,
// zero-shot classify an image, export embeddings.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "pat/app/cli.h"
#include "pat/clip/preprocess.h"
#include "pat/clip/text_embedder.h"
#include "pat/clip/tokenizer.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/npy.h"
#include "pat/core/log.h"
#include "pat/core/resources.h"
#include "pat/engine/train/clip_pretrain_task.h"
#include "pat/engine/train/trainer.h"

namespace {

using pat::clip::ClipModel;
using pat::clip::Tokenizer;

struct ModelFlags {
  std::string model, vocab, device = "cpu";
  int64_t head_dim = 64;
};

void add_model_flags(CLI::App& sub, ModelFlags& f) {
  sub.add_option("--model,-m", f.model, "CLIP weights: OpenAI .pt archive or .safetensors")->required();
  sub.add_option("--vocab", f.vocab,
                 "bpe_simple_vocab_16e6.txt.gz (ships with OpenAI CLIP / open_clip); without it texts use the "
                 "byte-level tokenizer of models trained from scratch");
  sub.add_option("--head-dim", f.head_dim, "Attention head width used to infer head counts")->capture_default_str();
  sub.add_option("--device", f.device, "cpu | cuda | cuda:N")->capture_default_str();
}

ClipModel load_model(const ModelFlags& f) {
  pat::clip::ClipLoadOptions options;
  options.head_dim = f.head_dim;
  options.device = f.device;
  return pat::clip::load_clip(f.model, options);
}

std::shared_ptr<const Tokenizer> make_tokenizer(const std::string& vocab) {
  return std::make_shared<const Tokenizer>(vocab.empty() ? Tokenizer::byte_level() : Tokenizer::from_bpe_file(vocab));
}

torch::Tensor encode_images(ClipModel& model, const std::vector<std::string>& paths) {
  std::vector<torch::Tensor> rows;
  for (const auto& path : paths) {
    auto image = pat::clip::clip_preprocess_file(path, model->architecture().image_resolution);
    rows.push_back(model->encode_image(image.to(model->positional_embedding.device())));
  }
  return rows.empty() ? torch::zeros({0, model->architecture().embed_dim}) : torch::cat(rows, 0);
}

}  // namespace

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_clip", "CLIP utilities: pretrain, tokenize, zero-shot classify, export embeddings.");
  app->require_subcommand(1, 1);

  pat::app::ConfigFlags config_flags;
  std::string resume, output;
  auto* pretrain = app->add_subcommand(
      "pretrain",
      "Train a CLIP from scratch on captioned synthetic scenes (symmetric InfoNCE, learnable logit scale, AdamW with "
      "warmup + cosine), with pat_train's loop: progress with ETA, metrics.jsonl, loss.png, validation.png, "
      "checkpoints, --resume; writes <output>/clip_final.safetensors for model.clip.weights");
  pat::app::add_config_flags(*pretrain, config_flags);
  pretrain
      ->add_option("--resume", resume,
                   "Continue from the newest checkpoint in train.output_dir (no value) or from the checkpoint PATH")
      ->expected(0, 1)
      ->default_str("auto");
  pretrain->add_option("--output,-o", output, "Output folder: short for --set train.output_dir=DIR");

  std::string vocab;
  bool truncate = false;
  std::vector<std::string> texts;
  auto* tokenize = app->add_subcommand("tokenize", "Print the token ids of each TEXT, one line per text");
  tokenize->add_option("--vocab", vocab, "bpe_simple_vocab_16e6.txt.gz (default: the vendored copy)");
  tokenize->add_flag("--truncate", truncate, "Cut texts longer than 77 tokens instead of failing");
  tokenize->add_option("texts", texts, "Texts to tokenize")->required();

  ModelFlags model_flags;
  std::string image, classes, templates = "plain";
  bool json = false;
  auto* classify = app->add_subcommand("classify", "Zero-shot class probabilities of one image, highest first");
  add_model_flags(*classify, model_flags);
  classify->add_option("--image", image, "Image file")->required();
  classify->add_option("--classes", classes, "Comma-separated class names, e.g. \"cat,dog,sofa\"")->required();
  classify->add_option("--templates", templates, "Prompt templates: plain | single | imagenet | imagenet_select")
      ->capture_default_str();
  classify->add_flag("--json", json, "Print a JSON array instead of text");

  std::vector<std::string> images;
  std::string out_dir;
  auto* embed = app->add_subcommand("embed", "Write raw encode_image / encode_text outputs as .npy files");
  add_model_flags(*embed, model_flags);
  embed->add_option("--image", images, "Image file (repeatable)");
  embed->add_option("--text", texts, "Text, embedded as given (repeatable)");
  embed->add_flag("--truncate", truncate, "Cut texts longer than the context instead of failing");
  embed->add_option("--out", out_dir, "Output directory (image_embeds.npy [N,E], text_embeds.npy [M,E])")->required();

  return pat::app::run(*app, argc, argv, [&] {
    if (*pretrain) {
      if (!output.empty()) config_flags.overrides.push_back("train.output_dir=" + output);
      auto config = pat::app::load_config(config_flags);
      if (config_flags.print_config) {
        std::cout << pat::to_yaml(config);
        return 0;
      }
      if (pretrain->count("--resume") && resume.empty()) resume = "auto";
      auto worker = pat::app::start_worker(config.runtime);
      if (worker.comm->is_main()) {
        pat::ensure_directory(config.train.output_dir, "train.output_dir");
        pat::add_log_file(config.train.output_dir + "/log.txt");
      }
      pat::engine::Trainer trainer(config, worker.device, worker.comm, pat::engine::make_clip_pretrain_task);
      const auto result = trainer.run(resume);
      if (result.interrupted) return 128 + result.signal;  // stopped by a signal, checkpoint written
      if (worker.comm->is_main()) std::cout << "weights: " << result.final_weights << std::endl;
      return 0;
    }
    torch::NoGradGuard no_grad;
    if (*tokenize) {
      auto tokenizer = Tokenizer::from_bpe_file(vocab.empty() ? pat::default_vocab_path() : vocab);
      for (const auto& text : texts) {
        const auto ids = tokenizer.tokenize(text, 77, truncate);
        std::string line;
        for (auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
        std::cout << line << "\n";
      }
      return 0;
    }
    auto model = load_model(model_flags);
    auto tokenizer = make_tokenizer(model_flags.vocab);
    if (*classify) {
      auto names = pat::app::split_list(classes);
      for (const auto& n : names) PAT_CHECK(!n.empty(), "--classes: empty class name in \"", classes, "\"");
      pat::clip::TextEmbedder embedder(model, tokenizer, pat::clip::TextEmbedderOptions{templates});
      auto probs = torch::softmax(model->logits(encode_images(model, {image}), embedder.cached(names)), -1)[0].to(
          torch::kCPU, torch::kFloat64);
      std::vector<size_t> order(names.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return probs[a].item<double>() > probs[b].item<double>(); });
      nlohmann::json result = nlohmann::json::array();
      for (size_t i : order) {
        const double p = probs[static_cast<int64_t>(i)].item<double>();
        if (json)
          result.push_back({{"class", names[i]}, {"probability", p}});
        else
          std::printf("%.6f\t%s\n", p, names[i].c_str());
      }
      if (json) std::cout << result.dump(2) << "\n";
      return 0;
    }
    pat::ensure_directory(out_dir);
    auto image_embeds = encode_images(model, images);
    torch::Tensor text_embeds = torch::zeros({0, model->architecture().embed_dim});
    if (!texts.empty()) {
      PAT_CHECK(tokenizer->vocab_size() <= model->architecture().vocab_size, "the tokenizer's ",
                tokenizer->vocab_size(), " ids do not fit the model's vocabulary of ", model->architecture().vocab_size,
                " (pass the matching --vocab)");
      auto ids = tokenizer->tokenize_batch(texts, model->architecture().context_length, truncate);
      text_embeds = model->encode_text(ids.to(model->positional_embedding.device()));
    }
    pat::write_npy(out_dir + "/image_embeds.npy", image_embeds.to(torch::kCPU, torch::kFloat32));
    pat::write_npy(out_dir + "/text_embeds.npy", text_embeds.to(torch::kCPU, torch::kFloat32));
    return 0;
  });
}
