// pat_tokenize: PAT's pyramid tokenizer alone: token maps, their colours, the reconstruction, codebook atlases.
#include <iostream>

#include "pat/app/cli.h"
#include "pat/app/model_files.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/core/progress.h"
#include "pat/engine/eval/predictor.h"
#include "pat/engine/eval/tokenization.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app(
      "pat_tokenize",
      "Tokenize images with PAT's feature-pyramid tokenizer alone: per level the token ids (16-bit PNG, .npy), a "
      "colour picture of them (one colour per code, the same in every image), the reconstruction beside the input, "
      "and summary.json (codes used, perplexity, reconstruction L1 / PSNR; NMI and purity with --labels).");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags, /*config_required=*/false);
  std::vector<std::string> inputs;
  std::string weights, output = "tokens", labels;
  pat::engine::TokenizeOptions options;
  app->add_option("inputs", inputs, "Images or directories of images")->required();
  app->add_option("--weights,-w", weights,
                  "Weights holding the tokenizer: a run's model_final.pt / .safetensors / checkpoint, or a file with "
                  "clip.visual.*, upsamplers.* and pat.* (default: the newest runs/*/model_final, with the config.yaml "
                  "beside it unless --config is given)");
  app->add_option("--output,-o", output, "Output directory")->capture_default_str();
  app->add_flag("--codebook-atlas", options.atlas,
                "Also draw atlas_l<level>.png: for the most used codes, the image patches that map to each");
  app->add_option("--atlas-codes", options.atlas_options.codes, "Codes (rows) per atlas")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app->add_option("--atlas-patches", options.atlas_options.patches, "Patches per code in the atlas")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app->add_option("--labels", options.labels_dir,
                  "Ground-truth label maps named like the images (<stem>.png): report NMI and purity of tokens vs "
                  "classes per level");
  return pat::app::run(*app, argc, argv, [&] {
    const auto model_files = pat::app::resolve_model_files(weights, flags);
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    auto images = pat::engine::collect_images(inputs);
    auto device = pat::app::apply_runtime(config.runtime);
    PAT_LOG_INFO("{}", model_files.describe());
    auto tokenizer = pat::engine::load_standalone_tokenizer(config.model, weights);
    pat::place_module(*tokenizer, device, config.runtime.channels_last);
    pat::Autocast autocast(device, config.runtime.precision);
    pat::ensure_directory(output, "--output");
    options.output_dir = output;
    options.ignore_label = config.data.ignore_label;
    pat::engine::TokenizationRun run(*tokenizer, options);
    pat::Progress progress(static_cast<int64_t>(images.size()), "tokenize", images.size() > 1);
    int failed = 0;
    for (const auto& image : images) {
      try {
        run.tokenize_file(image);
      } catch (const std::exception& e) {
        ++failed;
        std::cerr << "error: " << e.what() << std::endl;
      }
      progress.advance();
    }
    progress.finish();
    if (failed == static_cast<int>(images.size())) {
      std::cerr << "error: no image could be tokenized" << std::endl;
      return 1;
    }
    auto summary = run.finish();
    summary.erase("per_image");
    std::cout << summary.dump(2) << std::endl;
    if (failed) std::cerr << "error: " << failed << " of " << images.size() << " images failed" << std::endl;
    std::cout << images.size() - failed << " of " << images.size() << " images tokenized into " << output << std::endl;
    return failed ? 1 : 0;
  });
}
