// pat_infer: segments images with any list of class names.
#include <iostream>

#include "pat/app/cli.h"
#include "pat/core/error.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_infer", "Segment images against any list of class names.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags);
  std::vector<std::string> inputs;
  std::string classes, class_file, weights, output = "predictions";
  double threshold = 0.0;
  app->add_option("inputs", inputs, "Images or directories of images")->required();
  app->add_option("--classes", classes, "Comma-separated class names, e.g. \"cat,sofa\"");
  app->add_option("--class-file", class_file, "Class list (JSON array or one name per line)");
  app->add_option("--weights,-w", weights, "Trained weights (model_final.pt / .safetensors)");
  app->add_option("--output,-o", output, "Output directory")->capture_default_str();
  app->add_option("--threshold", threshold, "Leave pixels below this probability unlabeled")
      ->check(CLI::Range(0.0, 1.0));
  return pat::app::run(*app, argc, argv, [&] {
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    PAT_FAIL("pat_infer: inference is not available in this build yet");
  });
}
