#include "pat/vis/codebook_atlas.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/vis/palette.h"
#include "vis/detail/text.h"

namespace pat::vis {

CodebookAtlas::CodebookAtlas(int64_t codebook_size, CodebookAtlasOptions options)
    : codebook_size_(codebook_size),
      options_(options),
      counts_(static_cast<size_t>(std::max<int64_t>(codebook_size, 0)), 0),
      patches_(counts_.size()) {
  PAT_CHECK(codebook_size > 0, "codebook atlas: expected a positive codebook size, got ", codebook_size);
  PAT_CHECK(options.codes > 0 && options.patches > 0, "codebook atlas: expected positive codes and patches, got ",
            options.codes, " and ", options.patches);
  PAT_CHECK(options.tile >= 8 && options.context >= 1, "codebook atlas: expected tile >= 8 and context >= 1");
}

cv::Mat CodebookAtlas::crop(const cv::Mat& image, int64_t y, int64_t x, int64_t h, int64_t w) const {
  // The cell in image pixels, then a context-times larger square region around its centre.
  const double cell_h = static_cast<double>(image.rows) / h, cell_w = static_cast<double>(image.cols) / w;
  const double side = options_.context * std::max(cell_h, cell_w);
  const double cy = (y + 0.5) * cell_h, cx = (x + 0.5) * cell_w;
  const int top = static_cast<int>(std::floor(cy - side / 2)), left = static_cast<int>(std::floor(cx - side / 2));
  const int extent = std::max(1, static_cast<int>(std::round(side)));
  cv::Mat region(extent, extent, CV_8UC3, cv::Scalar(0, 0, 0));  // black beyond the image border
  const cv::Rect wanted(left, top, extent, extent), inside = wanted & cv::Rect(0, 0, image.cols, image.rows);
  if (inside.area() > 0)
    image(inside).copyTo(region(cv::Rect(inside.x - left, inside.y - top, inside.width, inside.height)));
  cv::Mat tile;
  cv::resize(region, tile, cv::Size(options_.tile, options_.tile), 0, 0,
             extent < options_.tile ? cv::INTER_NEAREST : cv::INTER_AREA);
  // Outline the cell itself.
  const double s = options_.tile / side;
  const cv::Point a(static_cast<int>(std::round((x * cell_w - left) * s)),
                    static_cast<int>(std::round((y * cell_h - top) * s)));
  const cv::Point b(static_cast<int>(std::round(((x + 1) * cell_w - left) * s)) - 1,
                    static_cast<int>(std::round(((y + 1) * cell_h - top) * s)) - 1);
  if (options_.context > 1) cv::rectangle(tile, a, b, cv::Scalar(255, 255, 255), 1);
  return tile;
}

void CodebookAtlas::add(const cv::Mat& image, const torch::Tensor& ids, const torch::Tensor& score) {
  PAT_CHECK(!image.empty() && image.type() == CV_8UC3, "codebook atlas: expected a CV_8UC3 image");
  PAT_CHECK(ids.defined() && ids.dim() == 2 && score.defined() && score.sizes() == ids.sizes(),
            "codebook atlas: expected ids and scores [h, w] of one shape");
  auto id = ids.detach().to(torch::kCPU, torch::kInt64).contiguous();
  auto sc = score.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t h = id.size(0), w = id.size(1), n = h * w;
  PAT_CHECK(id.min().item<int64_t>() >= 0 && id.max().item<int64_t>() < codebook_size_,
            "codebook atlas: expected ids in [0, ", codebook_size_, ")");
  const int64_t* ip = id.data_ptr<int64_t>();
  const double* sp = sc.data_ptr<double>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sp[a] > sp[b]; });
  std::vector<std::vector<int64_t>> chosen(counts_.size());  // cells taken in this image, per code
  for (int64_t i : order) {
    const int64_t code = ip[i], y = i / w, x = i % w;
    ++counts_[code];
    auto& taken = chosen[code];
    auto& kept = patches_[code];
    if (static_cast<int64_t>(taken.size()) >= options_.patches) continue;
    const bool near = std::any_of(taken.begin(), taken.end(),
                                  [&](int64_t j) { return std::abs(j / w - y) < 2 && std::abs(j % w - x) < 2; });
    if (near) continue;
    if (static_cast<int64_t>(kept.size()) >= options_.patches && kept.back().score >= sp[i]) continue;
    taken.push_back(i);
    Patch patch{sp[i], added_++, crop(image, y, x, h, w)};
    auto at = std::upper_bound(kept.begin(), kept.end(), patch,
                               [](const Patch& p, const Patch& q) { return p.score > q.score; });
    kept.insert(at, std::move(patch));
    if (static_cast<int64_t>(kept.size()) > options_.patches) kept.pop_back();
  }
}

cv::Mat CodebookAtlas::render(const std::string& title) const {
  int64_t total = 0;
  std::vector<std::pair<int64_t, int64_t>> used;  // (-count, code): most used first, then by id
  for (int64_t k = 0; k < codebook_size_; ++k) {
    total += counts_[k];
    if (counts_[k] > 0) used.emplace_back(-counts_[k], k);
  }
  PAT_CHECK(total > 0, "codebook atlas: no tokens were added");
  std::sort(used.begin(), used.end());
  if (static_cast<int64_t>(used.size()) > options_.codes) used.resize(static_cast<size_t>(options_.codes));

  const int tile = options_.tile, gap = 2, label = 132;
  const double scale = 0.4;
  const int strip = detail::text_size("Hg", 0.5, 1).height * 2 + 8;
  const int width = label + static_cast<int>(options_.patches) * (tile + gap) + gap;
  const int height = strip + static_cast<int>(used.size()) * (tile + gap) + gap;
  const int title_width = detail::text_size(title, 0.5, 1).width + 12;
  cv::Mat canvas(height, std::max(width, title_width), CV_8UC3, cv::Scalar(255, 255, 255));
  detail::put_text(canvas, title, cv::Point(6, strip - 8), 0.5, cv::Scalar(0, 0, 0), 1);
  for (size_t r = 0; r < used.size(); ++r) {
    const int64_t code = used[r].second;
    const int top = strip + static_cast<int>(r) * (tile + gap);
    const cv::Vec3b c = class_color(code);
    cv::rectangle(canvas, cv::Rect(gap, top, 16, tile), cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
    char text[64];
    std::snprintf(text, sizeof(text), "code %lld", static_cast<long long>(code));
    detail::put_text(canvas, text, cv::Point(24, top + tile / 2 - 4), scale, cv::Scalar(0, 0, 0), 1);
    std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * counts_[code] / total);
    detail::put_text(canvas, text, cv::Point(24, top + tile / 2 + 12), scale, cv::Scalar(80, 80, 80), 1);
    int left = label;
    for (const auto& patch : patches_[code]) {
      patch.pixels.copyTo(canvas(cv::Rect(left, top, tile, tile)));
      left += tile + gap;
    }
  }
  return canvas;
}

}  // namespace pat::vis
