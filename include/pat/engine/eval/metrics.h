#pragma once
/// \file Semantic-segmentation metrics with detectron2 `SemSegEvaluator` semantics: a mergeable
/// confusion-matrix accumulator and the mIoU / fwIoU / pACC / mACC / per-class results it yields.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace pat::engine {

/// Which classes mIoU averages over.
enum class MiouFormula {
  /// Classes with ground-truth pixels (detectron2 since July 2022, and the default here).
  kGtPresent,
  /// detectron2 v0.6 wheels: the sum of per-class IoU over classes with GT pixels, divided by the
  /// number of classes present in GT **or** in the predictions (much lower on PC-459).
  kGtOrPredPresent,
};

/// Metric values in percent, as detectron2 reports them. A class absent from the ground truth has
/// NaN IoU and accuracy (reported as null in JSON); an empty accumulator gives NaN everywhere.
struct SegMetrics {
  double miou = 0;          ///< mean IoU (see MiouFormula)
  double fwiou = 0;         ///< frequency-weighted IoU (weights = GT pixel share)
  double pacc = 0;          ///< pixel accuracy over non-ignored pixels
  double macc = 0;          ///< mean per-class accuracy over classes with GT pixels
  std::vector<double> iou;  ///< [C] per-class IoU, NaN when the class has no GT pixel
  std::vector<double> acc;  ///< [C] per-class accuracy (recall), NaN when the class has no GT pixel
  int64_t num_pixels = 0;   ///< pixels counted (GT != ignore)
};

/// Accumulates a [C, C] int64 confusion matrix over (prediction, ground truth) pairs.
/// Layout as in detectron2: `matrix()[pred][gt]` counts pixels predicted `pred` whose GT is `gt`.
class ConfusionMatrix {
 public:
  /// `num_classes` C >= 1. Pixels whose GT equals `ignore_label` are skipped (any value; usually
  /// 255, 65535, or 459 for PC-459 where it equals C).
  explicit ConfusionMatrix(int64_t num_classes, int64_t ignore_label = 255);

  /// Adds one image (or a batch): `pred` and `gt` are integer tensors of the same shape (any
  /// device; e.g. [H, W] int64 and [H, W] uint8/int32/int64). Every non-ignored GT value and every
  /// prediction at a non-ignored pixel must lie in [0, C); otherwise a `pat::Error` names the value.
  void update(const torch::Tensor& pred, const torch::Tensor& gt);

  /// Adds another accumulator's counts (same C and ignore label).
  void merge(const ConfusionMatrix& other);
  /// Adds raw counts: `counts` [C, C] integer (e.g. the result of a distributed all-reduce).
  void merge(const torch::Tensor& counts);
  /// Replaces the counts (e.g. with an all-reduced sum): `counts` [C, C] integer.
  void set_matrix(const torch::Tensor& counts);
  void reset();

  /// [C, C] int64 CPU, rows = prediction, columns = ground truth.
  const torch::Tensor& matrix() const { return matrix_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t ignore_label() const { return ignore_label_; }

  /// Metrics from the counts so far.
  SegMetrics compute(MiouFormula formula = MiouFormula::kGtPresent) const;

 private:
  int64_t num_classes_;
  int64_t ignore_label_;
  torch::Tensor matrix_;
};

/// A metric value as reports print it: two decimals ("61.20"), "n/a" for NaN or infinity.
std::string format_metric(double value);

/// Metrics of a [C, C] count matrix (rows = prediction, columns = GT), detectron2 formulas.
SegMetrics compute_seg_metrics(const torch::Tensor& counts, MiouFormula formula = MiouFormula::kGtPresent);

/// The VOC-20b ("PAS-20b") mapping: predictions over the 59-name `voc20b.json` vocabulary with any
/// index >= `background` become `background` (20), so they can be scored as 21 classes.
/// `pred` integer tensor of any shape; returns the same shape and dtype.
torch::Tensor map_voc20b_predictions(const torch::Tensor& pred, int64_t background = 20);

/// Number of classes VOC-20b is scored with (20 objects + background).
constexpr int64_t kVoc20bScoredClasses = 21;

}  // namespace pat::engine
