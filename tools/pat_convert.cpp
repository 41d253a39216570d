// pat_convert: converts released weights into safetensors with PAT's names.
//   pat_convert catseg model_base.pth -o catseg_vitb16.safetensors [--strict]
//   pat_convert clip ViT-B-16.pt -o clip_vitb16.safetensors
//   pat_convert inspect model_base.pth
#include <cstdio>
#include <iostream>
#include <sstream>

#include "pat/app/cli.h"
#include "pat/app/model_files.h"
#include "pat/clip/architecture.h"
#include "pat/clip/weights.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/safetensors.h"
#include "pat/core/torch_save.h"
#include "pat/model/catseg_checkpoint.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app(
      "pat_convert",
      "Convert released weights to safetensors in PAT's names: 'catseg' reads the official CAT-Seg checkpoints "
      "(model_base.pth / model_large.pth, detectron2 torch.save format), 'clip' OpenAI's CLIP archives; "
      "'inspect' lists the tensors of a torch.save file.");
  std::string verb, input, output, log_level = "info";
  bool strict = false;
  int64_t head_dim = 64;
  app->add_option("verb", verb, "catseg | clip | inspect")
      ->required()
      ->check(CLI::IsMember({"catseg", "clip", "inspect"}));
  app->add_option("input", input, "The file to convert")->required();
  app->add_option("--output,-o", output, "Output .safetensors file");
  app->add_flag("--strict", strict, "catseg: ignored keys and PAT parameters without a value are errors");
  app->add_option("--head-dim", head_dim, "clip: attention head width (64 for every OpenAI model)")
      ->check(CLI::PositiveNumber);
  app->add_option("--log-level", log_level, "trace | debug | info | warn | error | off");
  return pat::app::run(*app, argc, argv, [&] {
    pat::configure_logging(log_level);
    if (verb == "inspect") {
      auto state = pat::read_torch_state_dict(input, "model");
      for (const auto& [name, t] : state.tensors) {
        std::ostringstream shape;
        shape << t.sizes();
        std::printf("%-80s %-10s %s\n", name.c_str(), std::string(c10::toString(t.scalar_type())).c_str(),
                    shape.str().c_str());
      }
      for (const auto& [name, reason] : state.skipped) std::printf("skipped %s: %s\n", name.c_str(), reason.c_str());
      std::printf("%zu tensors%s\n", state.tensors.size(),
                  state.entry.empty() ? "" : (" in the \"" + state.entry + "\" entry").c_str());
      return 0;
    }
    PAT_CHECK(!output.empty(), "pat_convert ", verb, ": give the output file with -o FILE.safetensors");
    if (verb == "catseg") {
      const auto conversion = pat::model::convert_catseg_checkpoint(input, output, strict);
      std::cout << pat::model::format_catseg_conversion(conversion);
      // The config the weights imply, beside them: pat_infer / pat_eval --weights OUT find it by themselves.
      auto config = pat::default_config();
      config.model = conversion.config;
      const auto config_path = pat::app::config_beside(output);
      pat::save_config(config, config_path);
      std::cout << "wrote " << output << " and " << config_path << "\n";
      return 0;
    }
    // clip: an OpenAI archive, safetensors or a torch.save state dict, checked by building the model.
    pat::clip::ClipWeights weights;
    if (pat::torch_file_kind(input) == pat::TorchFileKind::kTorchSave) {
      for (auto& [name, t] : pat::read_torch_state_dict(input, "state_dict").tensors)
        weights[name] = t.is_floating_point() ? t.to(torch::kFloat32).contiguous() : t;
    } else {
      weights = pat::clip::load_clip_weights(input);
    }
    const auto arch = pat::clip::infer_clip_architecture(weights, head_dim);
    pat::clip::ClipModel model(arch);
    pat::clip::load_weights_into(*model, weights, /*strict=*/true);
    pat::write_safetensors(output, weights, {{"format", "pt"}, {"producer", "pat_convert clip"}});
    std::cout << "CLIP " << pat::clip::to_string(arch) << ": " << weights.size() << " tensors\nwrote " << output
              << "\n";
    return 0;
  });
}
