// pat_eval: evaluates a trained model on benchmarks (CAT-Seg protocol) or scores saved predictions.
#include <iostream>

#include "pat/app/cli.h"
#include "pat/core/error.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_eval",
                                "Evaluate a model on ADE-150/847, PASCAL-Context-59/459, VOC-20/20b or custom data.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags);
  std::string weights, benchmarks, data_root, class_file, output, predictions;
  app->add_option("--weights,-w", weights, "Trained weights (model_final.pt / .safetensors)");
  app->add_option("--benchmark,-b", benchmarks,
                  "Benchmark name(s), comma separated: ade150,ade847,pc59,pc459,voc20,voc20b,custom");
  app->add_option("--data-root", data_root, "Dataset root (default: $PAT_DATASETS, else ./datasets)");
  app->add_option("--class-file", class_file,
                  "Class list overriding the benchmark's (JSON array or one name per line)");
  app->add_option("--output,-o", output, "Directory for results.json and optional prediction maps");
  app->add_option("--predictions", predictions, "Score saved prediction maps in DIR instead of running a model");
  return pat::app::run(*app, argc, argv, [&] {
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    PAT_FAIL("pat_eval: evaluation is not available in this build yet");
  });
}
