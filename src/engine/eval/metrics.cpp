#include "pat/engine/eval/metrics.h"

#include <cstdio>

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

torch::Tensor checked_counts(const torch::Tensor& counts, int64_t num_classes, const char* where) {
  PAT_CHECK(counts.defined() && counts.dim() == 2 && counts.size(0) == num_classes && counts.size(1) == num_classes,
            where, ": expected a [", num_classes, ", ", num_classes, "] count matrix, got ",
            counts.defined() ? counts.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!counts.is_floating_point() && !counts.is_complex() && counts.scalar_type() != torch::kBool, where,
            ": expected an integer count matrix, got ", counts.scalar_type());
  return counts.detach().to(torch::kCPU, torch::kInt64).contiguous();
}

void check_range(const torch::Tensor& values, int64_t num_classes, const char* what) {
  if (values.numel() == 0) return;
  const int64_t lo = values.min().item<int64_t>();
  const int64_t hi = values.max().item<int64_t>();
  PAT_CHECK(lo >= 0, "ConfusionMatrix::update: ", what, " value ", lo, " is negative (expected 0..", num_classes - 1,
            " or the ignore label)");
  PAT_CHECK(hi < num_classes, "ConfusionMatrix::update: ", what, " value ", hi, " is out of range for ", num_classes,
            " classes (expected 0..", num_classes - 1, " or the ignore label)");
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int64_t num_classes, int64_t ignore_label)
    : num_classes_(num_classes), ignore_label_(ignore_label) {
  PAT_CHECK(num_classes >= 1, "ConfusionMatrix: expected at least 1 class, got ", num_classes);
  matrix_ = torch::zeros({num_classes, num_classes}, torch::kInt64);
}

void ConfusionMatrix::update(const torch::Tensor& pred, const torch::Tensor& gt) {
  PAT_CHECK(pred.defined() && gt.defined(), "ConfusionMatrix::update: undefined tensor");
  PAT_CHECK(pred.sizes() == gt.sizes(), "ConfusionMatrix::update: prediction shape ", pred.sizes(),
            " differs from ground-truth shape ", gt.sizes());
  for (const auto* t : {&pred, &gt}) {
    PAT_CHECK(!t->is_floating_point() && !t->is_complex() && t->scalar_type() != torch::kBool,
              "ConfusionMatrix::update: expected integer label maps, got ", t->scalar_type());
  }
  auto p = pred.detach().to(torch::kCPU, torch::kInt64).reshape({-1});
  auto g = gt.detach().to(torch::kCPU, torch::kInt64).reshape({-1});
  auto keep = g.ne(ignore_label_);
  if (!keep.all().item<bool>()) {
    p = p.masked_select(keep);
    g = g.masked_select(keep);
  }
  if (g.numel() == 0) return;
  check_range(g, num_classes_, "ground-truth");
  check_range(p, num_classes_, "prediction");
  auto index = p * num_classes_ + g;
  matrix_ += torch::bincount(index, {}, num_classes_ * num_classes_).view({num_classes_, num_classes_});
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  PAT_CHECK(other.num_classes_ == num_classes_, "ConfusionMatrix::merge: expected ", num_classes_, " classes, got ",
            other.num_classes_);
  PAT_CHECK(other.ignore_label_ == ignore_label_, "ConfusionMatrix::merge: expected ignore label ", ignore_label_,
            ", got ", other.ignore_label_);
  matrix_ += other.matrix_;
}

void ConfusionMatrix::merge(const torch::Tensor& counts) {
  matrix_ += checked_counts(counts, num_classes_, "ConfusionMatrix::merge");
}

void ConfusionMatrix::set_matrix(const torch::Tensor& counts) {
  matrix_ = checked_counts(counts, num_classes_, "ConfusionMatrix::set_matrix").clone();
}

void ConfusionMatrix::reset() {
  matrix_.zero_();
}

SegMetrics ConfusionMatrix::compute(MiouFormula formula) const {
  return compute_seg_metrics(matrix_, formula);
}

std::string format_metric(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.2f", value);
  return buffer;
}

SegMetrics compute_seg_metrics(const torch::Tensor& counts_in, MiouFormula formula) {
  PAT_CHECK(counts_in.defined() && counts_in.dim() == 2 && counts_in.size(0) == counts_in.size(1),
            "compute_seg_metrics: expected a square [C, C] count matrix, got ",
            counts_in.defined() ? counts_in.sizes() : torch::IntArrayRef{});
  const int64_t c = counts_in.size(0);
  auto counts = checked_counts(counts_in, c, "compute_seg_metrics");
  auto m = counts.accessor<int64_t, 2>();

  std::vector<double> tp(c, 0.0), pos_gt(c, 0.0), pos_pred(c, 0.0);
  for (int64_t p = 0; p < c; ++p) {
    for (int64_t g = 0; g < c; ++g) {
      const double n = static_cast<double>(m[p][g]);
      pos_pred[p] += n;
      pos_gt[g] += n;
    }
    tp[p] = static_cast<double>(m[p][p]);
  }
  double total_gt = 0, total_tp = 0;
  for (int64_t k = 0; k < c; ++k) {
    total_gt += pos_gt[k];
    total_tp += tp[k];
  }

  SegMetrics out;
  out.iou.assign(c, kNaN);
  out.acc.assign(c, kNaN);
  out.num_pixels = static_cast<int64_t>(total_gt);
  double acc_sum = 0, iou_sum = 0, fw_sum = 0;
  int64_t n_gt_present = 0, n_any_present = 0;
  for (int64_t k = 0; k < c; ++k) {
    if (pos_gt[k] + pos_pred[k] > 0) ++n_any_present;
    if (pos_gt[k] <= 0) continue;  // absent from GT: NaN accuracy and IoU
    ++n_gt_present;
    const double acc = tp[k] / pos_gt[k];
    const double iou = tp[k] / (pos_gt[k] + pos_pred[k] - tp[k]);  // union >= pos_gt > 0
    out.acc[k] = 100.0 * acc;
    out.iou[k] = 100.0 * iou;
    acc_sum += acc;
    iou_sum += iou;
    fw_sum += iou * (pos_gt[k] / total_gt);
  }
  const int64_t miou_den = formula == MiouFormula::kGtPresent ? n_gt_present : n_any_present;
  out.macc = n_gt_present > 0 ? 100.0 * acc_sum / n_gt_present : kNaN;
  out.miou = miou_den > 0 ? 100.0 * iou_sum / miou_den : kNaN;
  out.fwiou = n_gt_present > 0 ? 100.0 * fw_sum : kNaN;
  out.pacc = total_gt > 0 ? 100.0 * total_tp / total_gt : kNaN;
  return out;
}

torch::Tensor map_voc20b_predictions(const torch::Tensor& pred, int64_t background) {
  PAT_CHECK(pred.defined() && !pred.is_floating_point() && pred.scalar_type() != torch::kBool,
            "map_voc20b_predictions: expected an integer label map, got ",
            pred.defined() ? c10::toString(pred.scalar_type()) : "undefined");
  PAT_CHECK(background >= 0, "map_voc20b_predictions: expected a non-negative background index, got ", background);
  return pred.clamp_max(background);
}

}  // namespace pat::engine
