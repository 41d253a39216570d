#pragma once
/// \file Scoring a model on a dataset with the CAT-Seg protocol (CATSEG.md §2): per image the sliding
/// window (or whole-image) inference, argmax at the original size, a detectron2 confusion matrix.

#include <functional>
#include <string>
#include <vector>

#include "pat/config/config.h"
#include "pat/data/dataset.h"
#include "pat/data/transforms.h"
#include "pat/engine/dist/communicator.h"
#include "pat/engine/eval/inference_protocol.h"
#include "pat/engine/eval/metrics.h"
#include "pat/engine/eval/report.h"
#include "pat/model/seg_model.h"

namespace pat::engine {

struct EvaluateOptions {
  std::string label = "eval";   ///< progress-bar label
  bool progress = true;         ///< show a progress bar with ETA
  int64_t max_images = 0;       ///< 0 = all
  std::string predictions_dir;  ///< when set: label maps (PNG/16-bit) and colored overlays per image
  bool voc20b = false;          ///< map predictions >= 20 to background 20 (VOC-20b protocol)
  /// Several processes: image i is scored on rank i mod world size and the confusion matrices are summed,
  /// so every rank returns the whole result (progress shown by rank 0). Null: this process scores all.
  Communicator* comm = nullptr;
  /// Called for the first images with (index, image [3,H,W] 0..255, ground truth, prediction).
  std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)> on_prediction;
};

/// An RGB uint8 image (`CV_8UC3`) as [3, H, W] float32 in 0..255 (a copy).
torch::Tensor image_tensor(const cv::Mat& rgb);

/// One image through the configured protocol: `image` [3, H, W] float 0..255 (already test-resized),
/// result at `output_size` (empty: the image size). The model must be in eval mode with its classes set.
SegPrediction predict_image(model::SegModelImpl& model, const torch::Tensor& image, const EvalConfig& eval,
                            torch::IntArrayRef output_size = {});

/// Evaluates `model` (classes already set to the dataset's vocabulary) over `dataset`.
BenchmarkResult evaluate(model::SegModelImpl& model, const data::Dataset& dataset, const data::TransformPtr& transform,
                         const EvalConfig& eval, const EvaluateOptions& options = {});

}  // namespace pat::engine
