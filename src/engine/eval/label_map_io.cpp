#include "pat/engine/eval/label_map_io.h"

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/data/image_io.h"

namespace pat::engine {

// Tensor views over the data area's label-file io (one reader and one writer for label maps).

torch::Tensor read_label_map(const std::string& path) {
  cv::Mat label = data::read_label(path);  // CV_32SC1, values unchanged
  PAT_ASSERT(label.isContinuous() && label.type() == CV_32SC1);
  return torch::from_blob(label.data, {label.rows, label.cols}, torch::kInt32).to(torch::kInt64);
}

void write_label_png(const std::string& path, const torch::Tensor& labels, int64_t num_classes) {
  PAT_CHECK(labels.defined() && labels.dim() == 2 && labels.numel() > 0, "write_label_png ", path,
            ": expected a non-empty [H, W] label map, got ", labels.defined() ? labels.sizes() : torch::IntArrayRef{});
  PAT_CHECK(!labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
            "write_label_png ", path, ": expected integer labels, got ", labels.scalar_type());
  PAT_CHECK(num_classes >= 1, "write_label_png ", path, ": expected num_classes >= 1, got ", num_classes);
  const bool eight_bit = num_classes <= 255;
  auto values = labels.detach().to(torch::kCPU, torch::kInt64);
  const int64_t lo = values.min().item<int64_t>(), hi = values.max().item<int64_t>();
  PAT_CHECK(lo >= 0 && hi <= (eight_bit ? 255 : 65535), "write_label_png ", path, ": values ", lo, "..", hi,
            " do not fit a ", eight_bit ? 8 : 16, "-bit PNG");
  auto narrow = values.to(torch::kInt32).contiguous();
  cv::Mat as_int(static_cast<int>(narrow.size(0)), static_cast<int>(narrow.size(1)), CV_32S, narrow.data_ptr());
  data::write_label(path, as_int, eight_bit ? data::LabelDepth::kU8 : data::LabelDepth::kU16);
}

}  // namespace pat::engine
