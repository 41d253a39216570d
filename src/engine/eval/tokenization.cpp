#include "pat/engine/eval/tokenization.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/npy.h"
#include "pat/data/image_io.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/eval/label_map_io.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/model/pat/losses.h"
#include "pat/vis/colorize.h"
#include "pat/vis/image.h"
#include "pat/vis/panel.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace pat::engine {
namespace {

constexpr int kMinDisplaySide = 256;

/// The size pictures of a height x width image are drawn at: the longer side brought into
/// [kMinDisplaySide, max_side], the aspect kept.
cv::Size display_size(int64_t height, int64_t width, int64_t max_side) {
  const double longer = static_cast<double>(std::max(height, width));
  double scale = 1;
  if (longer > max_side) scale = max_side / longer;
  if (longer < kMinDisplaySide) scale = std::min<double>(kMinDisplaySide, max_side) / longer;
  return {std::max(1, static_cast<int>(std::lround(width * scale))),
          std::max(1, static_cast<int>(std::lround(height * scale)))};
}

/// `image` resized to `size`: nearest neighbour when enlarging (the pixels stay visible), area otherwise.
cv::Mat resized(const cv::Mat& image, cv::Size size) {
  if (image.size() == size) return image.clone();
  cv::Mat out;
  const bool enlarge = size.width >= image.cols && size.height >= image.rows;
  cv::resize(image, out, size, 0, 0, enlarge ? cv::INTER_NEAREST : cv::INTER_AREA);
  return out;
}

/// Codes used and perplexity (exp of the entropy) of a code histogram [K].
nlohmann::ordered_json histogram_summary(const torch::Tensor& counts) {
  auto p = counts.to(torch::kFloat64);
  const double total = p.sum().item<double>();
  nlohmann::ordered_json out;
  out["codes_used"] = (counts > 0).sum().item<int64_t>();
  if (total > 0) {
    auto nz = p.masked_select(p > 0) / total;
    out["perplexity"] = std::exp(-(nz * nz.log()).sum().item<double>());
  } else {
    out["perplexity"] = nullptr;
  }
  return out;
}

/// [h, w] int64 ids -> [H, W] by nearest neighbour (cell (y, x) covers [y H/h, (y+1) H/h) x ...).
torch::Tensor upsample_ids(const torch::Tensor& ids, int64_t height, int64_t width) {
  auto rows = (torch::arange(height, torch::kFloat64) * ids.size(0) / height).floor().to(torch::kInt64);
  auto cols = (torch::arange(width, torch::kFloat64) * ids.size(1) / width).floor().to(torch::kInt64);
  return ids.index_select(0, rows).index_select(1, cols);
}

std::string level_name(int64_t level) {
  return "l" + std::to_string(level);
}

}  // namespace

model::StandaloneTokenizer load_standalone_tokenizer(const ModelConfig& config, const std::string& weights) {
  const std::string what = "weights " + weights;
  auto tensors = model::StandaloneTokenizerImpl::select_weights(read_weights(weights), what);
  model::StandaloneTokenizer tokenizer(config);
  assign_weights(*tokenizer, tensors, what);
  tokenizer->eval();
  return tokenizer;
}

TokenizationRun::TokenizationRun(model::StandaloneTokenizerImpl& tokenizer, TokenizeOptions options)
    : tokenizer_(tokenizer), options_(std::move(options)) {
  PAT_CHECK(options_.max_display_side >= 16, "tokenize: expected a display side of at least 16 pixels, got ",
            options_.max_display_side);
  if (!options_.labels_dir.empty())
    PAT_CHECK(fs::is_directory(options_.labels_dir), "--labels ", options_.labels_dir, ": no such directory");
  const int64_t k = tokenizer_.codebook_size();
  for (int64_t l : tokenizer_.levels()) {
    Level level;
    level.index = l;
    level.counts = torch::zeros({k}, torch::kInt64);
    if (!options_.labels_dir.empty()) level.stats = std::make_unique<TokenClassStats>(k, options_.ignore_label);
    if (options_.atlas) level.atlas = std::make_unique<vis::CodebookAtlas>(k, options_.atlas_options);
    levels_.push_back(std::move(level));
  }
}

std::string TokenizationRun::find_label(const std::string& stem) const {
  for (const char* ext : {".png", ".tif", ".tiff", ".bmp"}) {
    const auto path = fs::path(options_.labels_dir) / (stem + ext);
    if (fs::exists(path)) return path.string();
  }
  PAT_FAIL("--labels ", options_.labels_dir, ": no label map for ", stem, " (expected ", stem, ".png)");
}

nlohmann::ordered_json TokenizationRun::tokenize_file(const std::string& image_path) {
  const std::string stem = fs::path(image_path).stem().string();
  PAT_CHECK(!stems_.count(stem), image_path, ": another image named ", stem,
            " was tokenized already (its outputs would be overwritten)");
  const cv::Mat rgb = data::read_image(image_path);
  const int64_t height = rgb.rows, width = rgb.cols;
  torch::Tensor labels;
  if (!options_.labels_dir.empty()) {
    const auto label_path = find_label(stem);
    labels = read_label_map(label_path);
    PAT_CHECK(labels.size(0) == height && labels.size(1) == width, label_path, ": expected a ", height, " x ", width,
              " label map (the image's size), got ", labels.size(0), " x ", labels.size(1));
  }

  // Everything is computed first; files are written only when the whole image succeeded.
  model::StandaloneTokenizerOutput out;
  {
    torch::NoGradGuard no_grad;
    const auto device = tokenizer_.visual->parameters().front().device();
    out = tokenizer_.forward(image_tensor(rgb).unsqueeze(0).to(device));
  }
  cv::Mat image_bgr;
  cv::cvtColor(rgb, image_bgr, cv::COLOR_RGB2BGR);
  const cv::Size shown = display_size(height, width, options_.max_display_side);
  const int64_t k = tokenizer_.codebook_size();

  nlohmann::ordered_json summary;
  summary["image"] = image_path;
  summary["height"] = height;
  summary["width"] = width;
  summary["image_size"] = tokenizer_.image_size();
  std::vector<std::pair<std::string, std::function<void(const std::string&)>>> files;
  nlohmann::ordered_json level_summaries;
  std::vector<torch::Tensor> level_ids, level_scores;
  for (const auto& level : levels_) {
    auto ids = out.ids[level.index][0].to(torch::kCPU, torch::kInt64);
    auto score = F::cosine_similarity(out.projected[level.index], out.quantized[level.index],
                                      F::CosineSimilarityFuncOptions().dim(1))[0]
                     .to(torch::kCPU, torch::kFloat32);
    level_ids.push_back(ids);
    level_scores.push_back(score);
    auto entry = histogram_summary(torch::bincount(ids.flatten(), {}, k));
    nlohmann::ordered_json s;
    s["height"] = ids.size(0);
    s["width"] = ids.size(1);
    s["codes_used"] = entry["codes_used"];
    s["perplexity"] = entry["perplexity"];
    if (labels.defined()) {
      TokenClassStats stats(k, options_.ignore_label);
      stats.add(upsample_ids(ids, height, width), labels);
      s["nmi"] = stats.nmi();
      s["purity"] = stats.purity();
    }
    level_summaries[level_name(level.index)] = s;
    const std::string base = options_.output_dir + "/" + stem + "_" + level_name(level.index);
    files.emplace_back(base + ".png", [ids](const std::string& p) { write_label_png(p, ids, 65535); });
    files.emplace_back(base + ".npy", [ids](const std::string& p) { write_npy(p, ids.to(torch::kInt32)); });
    cv::Mat color = resized(vis::colorize_labels(ids, k), shown);
    files.emplace_back(base + "_color.png", [color](const std::string& p) { vis::write_png(p, color); });
  }
  summary["levels"] = level_summaries;
  double l1 = 0, psnr = 0;
  if (out.reconstruction.defined()) {
    torch::NoGradGuard no_grad;
    l1 = model::pyramid_reconstruction_loss(out.reconstruction, out.input).item<double>();
    auto rec = model::StandaloneTokenizerImpl::denormalize(out.reconstruction.to(torch::kFloat32)).clamp(0, 255);
    auto target = model::StandaloneTokenizerImpl::denormalize(out.input);
    if (target.sizes() != rec.sizes())
      target = F::interpolate(
          target, F::InterpolateFuncOptions().size(std::vector<int64_t>{rec.size(2), rec.size(3)}).mode(torch::kArea));
    const double mse = (rec - target.clamp(0, 255)).pow(2).mean().item<double>();
    psnr = 10 * std::log10(255.0 * 255.0 / std::max(mse, 1e-10));
    summary["reconstruction"] = {{"l1", l1}, {"psnr", psnr}};
    const int64_t side =
        std::min<int64_t>(std::max<int64_t>(tokenizer_.image_size(), kMinDisplaySide), options_.max_display_side);
    const cv::Size square(static_cast<int>(side), static_cast<int>(side));
    cv::Mat panel = vis::titled_panels({{resized(vis::image_to_bgr(target[0]), square), "input"},
                                        {resized(vis::image_to_bgr(rec[0]), square), "reconstruction"}});
    files.emplace_back(options_.output_dir + "/" + stem + "_reconstruction.png",
                       [panel](const std::string& p) { vis::write_png(p, panel); });
  } else {
    summary["reconstruction"] = nullptr;  // the model has no pixel branch
  }

  std::vector<std::string> written;
  try {
    for (const auto& [path, write] : files) {
      write(path);
      written.push_back(path);
    }
    write_file_atomic(options_.output_dir + "/" + stem + ".json", summary.dump(2) + "\n");
  } catch (...) {
    std::error_code ignored;
    for (const auto& f : written) fs::remove(f, ignored);
    throw;
  }

  // The image succeeded: it joins the totals.
  stems_.insert(stem);
  for (size_t i = 0; i < levels_.size(); ++i) {
    auto& level = levels_[i];
    level.counts += torch::bincount(level_ids[i].flatten(), {}, k);
    if (level.stats) level.stats->add(upsample_ids(level_ids[i], height, width), labels);
    if (level.atlas) level.atlas->add(image_bgr, level_ids[i], level_scores[i]);
  }
  if (out.reconstruction.defined()) {
    l1_sum_ += l1;
    psnr_sum_ += psnr;
    ++reconstructed_;
  }
  images_.push_back(summary);
  return summary;
}

nlohmann::ordered_json TokenizationRun::finish() {
  PAT_CHECK(!images_.empty(), "tokenize: no image was tokenized");
  nlohmann::ordered_json summary;
  summary["images"] = images_.size();
  summary["codebook_size"] = tokenizer_.codebook_size();
  summary["image_size"] = tokenizer_.image_size();
  nlohmann::ordered_json levels;
  for (const auto& level : levels_) {
    auto s = histogram_summary(level.counts);
    s["usage"] = s["codes_used"].get<double>() / static_cast<double>(tokenizer_.codebook_size());
    if (level.stats) {
      s["nmi"] = level.stats->nmi();
      s["purity"] = level.stats->purity();
      s["labelled_pixels"] = level.stats->pixels();
      s["classes"] = level.stats->classes_present();
    }
    levels[level_name(level.index)] = s;
  }
  summary["levels"] = levels;
  if (reconstructed_ > 0) {
    summary["reconstruction"] = {{"l1", l1_sum_ / reconstructed_}, {"psnr", psnr_sum_ / reconstructed_}};
  } else {
    summary["reconstruction"] = nullptr;
  }
  summary["per_image"] = images_;
  for (const auto& level : levels_) {
    if (!level.atlas) continue;
    const auto title = "level " + std::to_string(level.index) + ": the " +
                       std::to_string(options_.atlas_options.codes) + " most used of " +
                       std::to_string(tokenizer_.codebook_size()) + " codes over " + std::to_string(images_.size()) +
                       " image(s)";
    vis::write_png(options_.output_dir + "/atlas_" + level_name(level.index) + ".png", level.atlas->render(title));
  }
  write_file_atomic(options_.output_dir + "/summary.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace pat::engine
