// pat_infer: segments images against any list of class names.
#include <iostream>

#include "pat/app/cli.h"
#include "pat/app/model_files.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/core/progress.h"
#include "pat/data/class_list.h"
#include "pat/engine/eval/predictor.h"
#include "pat/engine/train/checkpoint.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_infer", "Segment images against any list of class names.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags, /*config_required=*/false);
  std::vector<std::string> inputs;
  std::string classes, class_file, weights, output = "predictions";
  double threshold = -1;
  app->add_option("inputs", inputs, "Images or directories of images")->required();
  auto* by_list = app->add_option("--classes", classes, "Comma-separated class names, e.g. \"cat,sofa\"");
  app->add_option("--class-file", class_file, "Class list (JSON array or one name per line)")->excludes(by_list);
  app->add_option("--weights,-w", weights,
                  "Trained weights (model_final.pt / .safetensors / a checkpoint; default: the newest "
                  "runs/*/model_final, with the config.yaml beside it unless --config is given)");
  app->add_option("--output,-o", output, "Output directory")->capture_default_str();
  app->add_option("--threshold", threshold, "Leave pixels below this probability unlabeled (default infer.threshold)")
      ->check(CLI::Range(0.0, 1.0));
  return pat::app::run(*app, argc, argv, [&] {
    const auto model_files = pat::app::resolve_model_files(weights, flags);
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    PAT_CHECK(!classes.empty() || !class_file.empty(), "give the class names with --classes \"a,b\" or --class-file F");
    auto names = class_file.empty() ? pat::app::split_list(classes) : pat::data::load_class_names(class_file);
    pat::data::validate_class_names(names, class_file.empty() ? "--classes" : class_file);
    auto images = pat::engine::collect_images(inputs);
    auto device = pat::app::apply_runtime(config.runtime);
    PAT_LOG_INFO("{}", model_files.describe());
    pat::model::SegModel model(config.model);
    model->set_classes(names);  // loads the tokenizer: a missing vocabulary is reported before anything else
    pat::engine::load_weights(weights, *model);
    pat::place_module(*model, device, config.runtime.channels_last);
    model->eval();
    pat::Autocast autocast(device, config.runtime.precision);
    pat::ensure_directory(output, "--output");
    pat::Progress progress(static_cast<int64_t>(images.size()), "infer", images.size() > 1);
    int failed = 0;
    for (const auto& image : images) {
      try {
        auto summary = pat::engine::predict_file(*model, image, config, output,
                                                 threshold >= 0 ? threshold : config.infer.threshold);
        if (images.size() == 1) std::cout << summary.dump(2) << std::endl;
      } catch (const std::exception& e) {
        ++failed;
        std::cerr << "error: " << e.what() << std::endl;
      }
      progress.advance();
    }
    progress.finish();
    if (failed) std::cerr << "error: " << failed << " of " << images.size() << " images failed" << std::endl;
    std::cout << images.size() - failed << " of " << images.size() << " images segmented into " << output << std::endl;
    return failed ? 1 : 0;
  });
}
