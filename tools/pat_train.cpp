// pat_train: trains a PAT / CAT-Seg model from a YAML config.
#include <iostream>

#include "pat/app/cli.h"
#include "pat/core/error.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_train", "Train a PAT (or CAT-Seg baseline) model from a YAML config.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags);
  bool print_model = false, json = false;
  std::string resume;
  int nproc = 1;
  app->add_flag("--print-model", print_model, "Print per-module parameter counts (trainable and total) and exit");
  app->add_flag("--json", json, "With --print-model: one JSON object");
  app->add_option("--resume", resume, "Resume from the newest checkpoint in the output directory, or from PATH")
      ->expected(0, 1)
      ->default_str("");
  app->add_option("--nproc", nproc, "Start N local worker processes (data parallel)")->check(CLI::PositiveNumber);
  return pat::app::run(*app, argc, argv, [&] {
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    PAT_FAIL("pat_train: training is not available in this build yet");
  });
}
