#include "pat/engine/eval/benchmark.h"

#include "pat/core/error.h"
#include "pat/data/dataset.h"
#include "pat/engine/datasets.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/eval/prediction_scoring.h"

namespace pat::engine {
namespace {

const int64_t kVoc20bClasses = 21;

/// Display names of the scored classes (VOC-20b: the 20 VOC names and "background").
std::vector<std::string> scored_names(const data::Dataset& dataset, bool voc20b) {
  auto names = dataset.class_names();
  if (voc20b) {
    names.resize(20);
    names.push_back("background");
  } else if (static_cast<int64_t>(names.size()) > dataset.num_classes()) {
    names.resize(dataset.num_classes());
  }
  return names;
}

/// The config's validation dataset for "val".
std::shared_ptr<data::Dataset> open_val_benchmark(const Config& config, const BenchmarkOptions& options) {
  PAT_CHECK(options.class_file.empty(), "--class-file: not for --benchmark ", kValBenchmark,
            " (its classes come from the config: data.val_class_file, data.synthetic_*_classes)");
  Config copy = config;
  if (!options.data_root.empty()) copy.data.root = options.data_root;
  return make_dataset(copy, Split::kVal);
}

}  // namespace

std::string default_benchmark(const Config& config) {
  return config.data.val_dataset == "synthetic" ? kValBenchmark : "";
}

void attach_class_split(BenchmarkResult& result, const Config& config) {
  const auto seen = seen_class_mask(config, result.class_names);
  if (!seen.empty()) result.split = split_metrics(result.metrics, seen, result.class_names);
}

data::DatasetSpec benchmark_spec(const std::string& name, const Config& config, const BenchmarkOptions& options) {
  const std::string root = options.data_root.empty() ? config.data.root : options.data_root;
  PAT_CHECK(name != kValBenchmark, "--benchmark ", kValBenchmark,
            ": the config's validation set has no saved-prediction layout; score a model on it, or name a benchmark "
            "layout or custom");
  data::DatasetSpec spec;
  if (name == "custom") {
    PAT_CHECK(!options.custom_root.empty() || !root.empty(),
              "--benchmark custom: give the dataset folder (images/, labels/, classes.json) with --data-root");
    spec = data::generic_dataset_spec(options.custom_root.empty() ? root : options.custom_root);
  } else {
    spec = data::builtin_dataset_spec(name, root);
  }
  if (!options.class_file.empty()) spec.class_file = options.class_file;
  return spec;
}

BenchmarkResult evaluate_benchmark(model::SegModelImpl& model, const std::string& name, const Config& config,
                                   const BenchmarkOptions& options) {
  auto dataset = name == kValBenchmark ? open_val_benchmark(config, options)
                                       : data::open_dataset(benchmark_spec(name, config, options));
  const bool voc20b = name == "voc20b";
  auto vocabulary = dataset->class_names();
  PAT_CHECK(!vocabulary.empty(), name, ": no class names (give --class-file)");
  if (!voc20b && static_cast<int64_t>(vocabulary.size()) > dataset->num_classes())
    vocabulary.resize(dataset->num_classes());
  model.set_classes(vocabulary);
  EvaluateOptions eo;
  eo.label = name;
  eo.progress = options.progress;
  eo.voc20b = voc20b;
  eo.comm = options.comm;
  if (config.eval.save_predictions && !options.output_dir.empty()) eo.predictions_dir = options.output_dir + "/" + name;
  auto result = evaluate(model, *dataset, make_test_transform(config, *dataset), config.eval, eo);
  result.name = name;
  result.class_names = scored_names(*dataset, voc20b);
  attach_class_split(result, config);
  return result;
}

BenchmarkResult score_benchmark_predictions(const std::string& predictions_dir, const std::string& name,
                                            const Config& config, const BenchmarkOptions& options) {
  data::FolderDataset dataset(benchmark_spec(name, config, options));
  const bool voc20b = name == "voc20b";
  PredictionScoringOptions so;
  so.background_index = voc20b ? 20 : -1;
  so.miou_formula = config.eval.miou == "gt" ? MiouFormula::kGtPresent : MiouFormula::kGtOrPredPresent;
  BenchmarkResult result;
  result.name = name;
  result.metrics = score_prediction_folder(predictions_dir, dataset.spec().label_dir,
                                           voc20b ? kVoc20bClasses : dataset.num_classes(), dataset.ignore_label(), so);
  result.class_names = scored_names(dataset, voc20b);
  attach_class_split(result, config);
  return result;
}

}  // namespace pat::engine
