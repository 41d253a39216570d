// pat_prepare: converts raw benchmark downloads into the detectron2 layouts CAT-Seg reads, or writes
// the synthetic demo scenes to disk. The conversions live in pat/data/prepare.h.
#include <iostream>
#include <memory>

#include "pat/app/cli.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/progress.h"
#include "pat/data/dataset.h"
#include "pat/data/prepare.h"
#include "pat/data/synthetic.h"
#include "pat/engine/datasets.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app(
      "pat_prepare",
      "Prepare datasets: coco-stuff, ade150 and voc from their raw downloads (ADE-847 and PASCAL-Context: "
      "tools/prepare_*.py), or 'synthetic' scenes for the demo. See docs/datasets.md.");
  std::string dataset, source, data_root, log_level = "info";
  int threads = 0;
  bool overwrite = false, copy_images = false, quiet = false;
  pat::data::SyntheticOptions synth;
  pat::app::ConfigFlags config_flags;
  std::string split = "val";
  app->add_option("dataset", dataset, "coco-stuff | ade150 | voc | synthetic")->required();
  app->add_option("--source,-s", source, "Raw download folder (see docs/datasets.md for each dataset)");
  app->add_option("--data-root,-o", data_root, "Output data root (default: $PAT_DATASETS, else ./datasets)");
  app->add_option("--threads,-j", threads, "Worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app->add_flag("--overwrite", overwrite, "Redo files that already exist (default: resume, skipping them)");
  app->add_flag("--copy-images", copy_images, "Copy image folders instead of symlinking them");
  app->add_flag("--quiet,-q", quiet, "No progress bar");
  app->add_option("--log-level", log_level, "trace | debug | info | warn | error | off");
  app->add_option("--num-images", synth.num_images, "synthetic: number of scenes")->check(CLI::PositiveNumber);
  app->add_option("--size", synth.image_size, "synthetic: scene size in pixels")->check(CLI::Range(16, 4096));
  app->add_option("--seed", synth.seed, "synthetic: seed");
  pat::app::add_config_flags(*app, config_flags, /*config_required=*/false);
  app->add_option("--split", split,
                  "synthetic with --config: write the config's train or val scenes, exactly as pat_train and "
                  "pat_eval generate them (classes, labels, seed)")
      ->check(CLI::IsMember({"train", "val"}))
      ->capture_default_str();
  return pat::app::run(*app, argc, argv, [&] {
    pat::configure_logging(log_level);
    if (dataset == "synthetic") {
      const std::string root = pat::data::resolve_data_root(data_root) + "/synthetic";
      auto scenes = std::make_shared<pat::data::SyntheticDataset>(synth);
      if (!config_flags.config.empty()) {
        const auto config = pat::app::load_config(config_flags);
        const auto which = split == "train" ? pat::engine::Split::kTrain : pat::engine::Split::kVal;
        scenes = std::dynamic_pointer_cast<pat::data::SyntheticDataset>(pat::engine::make_dataset(config, which));
        PAT_CHECK(scenes, config_flags.config, ": data.", split, "_dataset is not synthetic");
      }
      pat::data::write_synthetic_dataset(*scenes, root);
      std::cout << "wrote " << scenes->size() << " scenes and classes.json to " << root << "\n";
      return 0;
    }
    PAT_CHECK(!source.empty(), "pat_prepare ", dataset, ": --source is required");
    pat::data::PrepareOptions options;
    options.source = source;
    options.data_root = data_root;
    options.num_threads = threads;
    options.overwrite = overwrite;
    options.link_images = !copy_images;
    std::unique_ptr<pat::Progress> bar;
    options.progress = [&](size_t done, size_t total) {
      if (!bar) bar = std::make_unique<pat::Progress>(int64_t(total), "prepare " + dataset, !quiet);
      (void)done;
      bar->advance();
    };
    const auto report = pat::data::prepare_dataset(dataset, options);
    if (bar) bar->finish();
    std::cout << dataset << ": " << report.converted << " label maps written, " << report.skipped_existing
              << " already present, " << report.skipped_empty << " empty masks skipped";
    if (report.images_copied) std::cout << ", " << report.images_copied << " images copied";
    std::cout << "\n";
    for (const auto& out : report.outputs) std::cout << "  " << out << "\n";
    return 0;
  });
}
