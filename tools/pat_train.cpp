// pat_train: trains a PAT / CAT-Seg model from a YAML config.
#include <iostream>

#include <nlohmann/json.hpp>

#include "pat/app/cli.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/engine/train/trainer.h"
#include "pat/model/seg_model.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("pat_train", "Train a PAT (or CAT-Seg baseline) model from a YAML config.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags);
  bool print_model = false, json = false;
  std::string resume, nproc, output;
  app->add_flag("--print-model", print_model, "Print per-module parameter counts (trainable and total) and exit");
  app->add_flag("--json", json, "With --print-model: print one JSON object");
  app->add_option("--resume", resume,
                  "Continue from the newest checkpoint in train.output_dir (no value; a fresh start when there is "
                  "none) or from the checkpoint PATH")
      ->expected(0, 1)
      ->default_str("auto");
  app->add_option("--output,-o", output, "Output folder: short for --set train.output_dir=DIR");
  pat::app::add_nproc_flag(*app, nproc, "Train");
  return pat::app::run(*app, argc, argv, [&] {
    if (!output.empty()) flags.overrides.push_back("train.output_dir=" + output);
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    if (print_model) {
      pat::app::apply_runtime(config.runtime);
      // Counting needs no weights file for a named architecture: the shapes are known.
      if (config.model.clip.arch != "custom") config.model.clip.weights.clear();
      pat::model::SegModel model(config.model);
      auto counts = model->param_counts();
      if (json) {
        nlohmann::ordered_json out;
        out["total"] = counts.back().total;
        out["trainable"] = counts.back().trainable;
        for (const auto& c : counts) out["modules"][c.name] = {{"total", c.total}, {"trainable", c.trainable}};
        std::cout << out.dump() << std::endl;
      } else {
        std::cout << pat::model::format_param_counts(counts);
      }
      return 0;
    }
    if (auto status = pat::app::launch_workers(nproc, argc, argv, config.runtime)) return *status;
    if (app->count("--resume") && resume.empty()) resume = "auto";
    auto worker = pat::app::start_worker(config.runtime);
    const bool main_rank = worker.comm->is_main();
    if (main_rank) {
      pat::ensure_directory(config.train.output_dir, "train.output_dir");
      pat::add_log_file(config.train.output_dir + "/log.txt");
    }
    pat::engine::Trainer trainer(config, worker.device, worker.comm);
    auto result = trainer.run(resume);
    if (result.interrupted) return 128 + result.signal;  // stopped by a signal, checkpoint written
    if (main_rank) {
      if (result.best_score >= 0)
        std::cout << "best validation score " << result.best_score << ", final " << result.last_score << std::endl;
      std::cout << "weights: " << result.final_weights << std::endl;
    }
    return 0;
  });
}
