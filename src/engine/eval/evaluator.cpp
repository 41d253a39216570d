#include "pat/engine/eval/evaluator.h"

#include <filesystem>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/progress.h"
#include "pat/data/rng.h"
#include "pat/engine/eval/inference_protocol.h"
#include "pat/engine/eval/label_map_io.h"
#include "pat/vis/image.h"
#include "pat/vis/overlay.h"

namespace pat::engine {
namespace {

torch::Tensor label_tensor(const cv::Mat& label) {
  cv::Mat as_int;
  label.convertTo(as_int, CV_32S);
  return torch::from_blob(as_int.ptr<int32_t>(), {as_int.rows, as_int.cols}, torch::kInt32).to(torch::kInt64);
}

}  // namespace

torch::Tensor image_tensor(const cv::Mat& rgb) {
  PAT_ASSERT(rgb.type() == CV_8UC3, "expected an RGB uint8 image");
  auto t = torch::from_blob(const_cast<uint8_t*>(rgb.ptr<uint8_t>()), {rgb.rows, rgb.cols, 3},
                            {static_cast<int64_t>(rgb.step[0]), 3, 1}, torch::kUInt8);
  return t.permute({2, 0, 1}).to(torch::kFloat32);
}

SegPrediction predict_image(model::SegModelImpl& model, const torch::Tensor& image, const EvalConfig& eval,
                            torch::IntArrayRef output_size) {
  const auto device = model.parameters().front().device();
  LogitsFn logits_fn = [&](const torch::Tensor& views) {
    return model.logits(views.to(device)).to(torch::kCPU, torch::kFloat32);
  };
  if (eval.mode == "whole") {
    WholeImageOptions o;
    o.size = model.image_size();
    o.class_chunk = eval.class_chunk;
    return predict_whole_image(image, logits_fn, o, output_size);
  }
  SlidingWindowOptions o;
  o.kernel = eval.kernel;
  o.overlap = eval.overlap;
  o.out_res = eval.out_res;
  o.class_chunk = eval.class_chunk;
  return predict_sliding_window(image, logits_fn, o, output_size);
}

BenchmarkResult evaluate(model::SegModelImpl& model, const data::Dataset& dataset, const data::TransformPtr& transform,
                         const EvalConfig& eval, const EvaluateOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t num_classes = options.voc20b ? 21 : dataset.num_classes();
  ConfusionMatrix confusion(num_classes, dataset.ignore_label());
  int64_t total = static_cast<int64_t>(dataset.size());
  if (options.max_images > 0) total = std::min(total, options.max_images);
  if (!options.predictions_dir.empty()) ensure_directory(options.predictions_dir, "predictions directory");
  const int64_t rank = options.comm ? options.comm->rank() : 0;
  const int64_t world = options.comm ? options.comm->size() : 1;
  Progress progress((total - rank + world - 1) / world, options.label, options.progress && rank == 0);
  for (int64_t i = rank; i < total; i += world) {
    auto sample = dataset.get(static_cast<size_t>(i));
    PAT_CHECK(!sample.label.empty(), dataset.name(), ": sample ", sample.name, " has no label map to score against");
    const int64_t height = sample.label.rows, width = sample.label.cols;
    if (transform) {
      data::Rng rng(static_cast<uint64_t>(i));
      transform->apply(sample, rng);
    }
    auto image = image_tensor(sample.image);
    auto prediction = predict_image(model, image, eval, {height, width});
    auto labels = options.voc20b ? map_voc20b_predictions(prediction.labels) : prediction.labels;
    auto gt = label_tensor(sample.label);
    confusion.update(labels, gt);
    if (!options.predictions_dir.empty()) {
      const std::string base = options.predictions_dir + "/" + sample.name;
      write_label_png(base + ".png", labels, num_classes);
      auto original =
          image.sizes() == torch::IntArrayRef({3, height, width})
              ? image
              : torch::nn::functional::interpolate(image.unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                                                           .size(std::vector<int64_t>{height, width})
                                                                           .mode(torch::kBilinear)
                                                                           .align_corners(false))
                    .squeeze(0);
      vis::write_png(base + "_overlay.png", vis::overlay_labels(original, labels, num_classes, dataset.class_names()));
    }
    if (options.on_prediction) options.on_prediction(i, image, gt, labels);
    progress.advance();
  }
  progress.finish();
  if (options.comm && world > 1) {
    auto counts = confusion.matrix().clone();
    options.comm->all_reduce_sum(counts);
    confusion.set_matrix(counts);
  }
  if (was_training) model.train();
  BenchmarkResult result;
  result.name = dataset.name();
  result.metrics = confusion.compute(eval.miou == "gt" ? MiouFormula::kGtPresent : MiouFormula::kGtOrPredPresent);
  result.class_names = dataset.class_names();
  if (static_cast<int64_t>(result.class_names.size()) > num_classes) result.class_names.resize(num_classes);
  return result;
}

}  // namespace pat::engine
