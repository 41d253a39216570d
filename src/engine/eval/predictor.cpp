#include "pat/engine/eval/predictor.h"

#include <filesystem>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/data/image_io.h"
#include "pat/data/transforms.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/eval/label_map_io.h"
#include "pat/vis/colorize.h"
#include "pat/vis/image.h"
#include "pat/vis/overlay.h"

namespace fs = std::filesystem;

namespace pat::engine {

std::vector<std::string> collect_images(const std::vector<std::string>& inputs) {
  std::vector<std::string> images;
  for (const auto& input : inputs) {
    PAT_CHECK(fs::exists(input), input, ": no such file or directory");
    if (!fs::is_directory(input)) {
      images.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(input))
      if (entry.is_regular_file() && data::is_image_extension(entry.path().extension().string()))
        found.push_back(entry.path().string());
    std::sort(found.begin(), found.end());
    PAT_CHECK(!found.empty(), input, ": no images in this directory");
    images.insert(images.end(), found.begin(), found.end());
  }
  return images;
}

nlohmann::json predict_file(model::SegModelImpl& model, const std::string& image_path, const Config& config,
                            const std::string& output_dir, double threshold) {
  data::Sample sample;
  sample.image = data::read_image(image_path);
  sample.name = fs::path(image_path).stem().string();
  const int64_t height = sample.image.rows, width = sample.image.cols;
  auto rgb = image_tensor(sample.image);
  // The test mapper (short side 640, long side at most infer.max_side), then the protocol back to full size.
  data::TestTransformOptions to;
  to.size = static_cast<int>(config.eval.test_size);
  to.max_size = static_cast<int>(config.infer.max_side);
  data::Rng rng(0);
  data::make_test_transforms(to)->apply(sample, rng);
  auto resized = image_tensor(sample.image);
  torch::NoGradGuard no_grad;
  auto prediction = predict_image(model, resized, config.eval, {height, width});
  const auto& classes = model.classes();
  const int64_t num_classes = static_cast<int64_t>(classes.size());
  auto labels = prediction.labels;
  if (threshold > 0) labels = labels.masked_fill(prediction.max_prob < threshold, -1);

  nlohmann::ordered_json summary;
  summary["image"] = image_path;
  summary["height"] = height;
  summary["width"] = width;
  summary["threshold"] = threshold;
  const double pixels = static_cast<double>(height * width);
  auto counts = torch::bincount(labels.flatten().clamp_min(-1) + 1, {}, num_classes + 1);
  nlohmann::ordered_json present = nlohmann::ordered_json::array();
  std::vector<std::pair<int64_t, int64_t>> order;
  for (int64_t c = 0; c < num_classes; ++c)
    if (counts[c + 1].item<int64_t>() > 0) order.emplace_back(counts[c + 1].item<int64_t>(), c);
  std::sort(order.rbegin(), order.rend());
  for (const auto& [n, c] : order) present.push_back({{"class", classes[c]}, {"id", c}, {"fraction", n / pixels}});
  summary["classes"] = present;
  summary["unlabeled_fraction"] = counts[0].item<int64_t>() / pixels;

  const std::string base = output_dir + "/" + sample.name;
  const int64_t unlabeled = num_classes <= 255 ? 255 : 65535;
  std::vector<std::string> written;
  try {
    write_label_png(base + ".png", labels.masked_fill(labels < 0, unlabeled),
                    std::max<int64_t>(num_classes, unlabeled));
    written.push_back(base + ".png");
    vis::write_colorized_png(base + "_color.png", labels, num_classes);
    written.push_back(base + "_color.png");
    vis::write_png(base + "_overlay.png", vis::overlay_labels(rgb, labels, num_classes, classes));
    written.push_back(base + "_overlay.png");
    write_file_atomic(base + ".json", summary.dump(2) + "\n");
  } catch (...) {
    std::error_code ignored;
    for (const auto& f : written) fs::remove(f, ignored);
    throw;
  }
  return summary;
}

}  // namespace pat::engine
