// pat_eval: evaluates a trained model on benchmarks (CAT-Seg protocol) or scores saved predictions.
#include <iostream>
#include <optional>

#include "pat/app/cli.h"
#include "pat/app/model_files.h"
#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/engine/eval/benchmark.h"
#include "pat/engine/train/checkpoint.h"

int main(int argc, char** argv) {
  auto app =
      pat::app::make_app("pat_eval",
                         "Evaluate a model on ADE-150/847, PASCAL-Context-59/459, VOC-20/20b, custom data or the "
                         "config's validation set (CAT-Seg protocol, detectron2 metrics). A config declaring "
                         "data.synthetic_train_classes (the seen classes) adds seen mIoU, unseen mIoU and their "
                         "harmonic mean hIoU.");
  pat::app::ConfigFlags flags;
  pat::app::add_config_flags(*app, flags, /*config_required=*/false);
  std::string weights, benchmarks, output = "eval_output", predictions;
  pat::engine::BenchmarkOptions options;
  app->add_option("--weights,-w", weights,
                  "Trained weights (model_final.pt / .safetensors / a checkpoint; default: the newest "
                  "runs/*/model_final, with the config.yaml beside it unless --config is given)");
  app->add_option("--benchmark,-b", benchmarks,
                  "Benchmark name(s), comma separated: ade150, ade847, pc59, pc459, voc20, voc20b, custom, or val "
                  "(the config's data.val_dataset, as training validates; the default when it is synthetic)");
  app->add_option("--data-root", options.data_root,
                  "Dataset root (default: data.root, $PAT_DATASETS, ./datasets); "
                  "for custom: the folder with images/, labels/, classes.json");
  app->add_option("--class-file", options.class_file, "Class list replacing the benchmark's (JSON array or lines)");
  app->add_option("--output,-o", output, "Directory for results.json (and prediction maps with eval.save_predictions)")
      ->capture_default_str();
  app->add_option("--predictions", predictions,
                  "Score the prediction maps in DIR (or DIR/<benchmark> for several) instead of running a model");
  std::string nproc;
  pat::app::add_nproc_flag(*app, nproc, "Evaluate");
  return pat::app::run(*app, argc, argv, [&] {
    // Scoring saved maps needs no model (and no config); running one finds the newest trained model.
    std::optional<pat::app::ModelFiles> model_files;
    if (predictions.empty()) model_files = pat::app::resolve_model_files(weights, flags);
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    if (benchmarks.empty()) benchmarks = pat::engine::default_benchmark(config);
    PAT_CHECK(!benchmarks.empty(),
              "--benchmark: required unless data.val_dataset is synthetic (here: ", config.data.val_dataset, ")");
    if (auto status = pat::app::launch_workers(nproc, argc, argv, config.runtime)) return *status;
    // Under a launcher each process scores a shard of every benchmark; rank 0 reports.
    auto worker = pat::app::start_worker(config.runtime);
    const auto device = worker.device;
    if (model_files) PAT_LOG_INFO("{}", model_files->describe());
    options.comm = worker.comm.get();
    auto names = pat::app::split_list(benchmarks);
    for (const auto& n : names) PAT_CHECK(!n.empty(), "--benchmark: empty name in \"", benchmarks, "\"");
    pat::ensure_directory(output, "--output");
    options.output_dir = output;
    std::vector<pat::engine::BenchmarkResult> results;
    if (!predictions.empty()) {
      for (const auto& n : names)
        results.push_back(pat::engine::score_benchmark_predictions(
            names.size() == 1 ? predictions : predictions + "/" + n, n, config, options));
    } else {
      pat::model::SegModel model(config.model);
      pat::engine::load_weights(weights, *model);
      pat::place_module(*model, device, config.runtime.channels_last);
      model->eval();
      pat::Autocast autocast(device, config.runtime.precision);
      for (const auto& n : names) results.push_back(pat::engine::evaluate_benchmark(*model, n, config, options));
    }
    if (!worker.comm->is_main()) return 0;
    for (const auto& r : results)
      if (r.split) PAT_LOG_INFO("{}: {}", r.name, pat::engine::split_summary(*r.split));
    std::cout << pat::engine::results_markdown(results);
    pat::engine::write_results_json(output + "/results.json", results);
    std::cout << "results: " << output << "/results.json" << std::endl;
    return 0;
  });
}
