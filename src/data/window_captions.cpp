#include "pat/data/window_captions.h"

#include <algorithm>
#include <numeric>

#include "pat/core/error.h"

namespace pat::data {

SceneContent describe_label_window(const torch::Tensor& label, int64_t y0, int64_t y1, int64_t x0, int64_t x1,
                                   const std::vector<std::string>& names, const std::vector<bool>& is_background) {
  PAT_CHECK(label.dim() == 2 && !label.is_floating_point(), "window captions: expected an integer label map [H, W], got ",
            label.sizes(), " ", label.scalar_type());
  PAT_CHECK(0 <= y0 && y0 < y1 && y1 <= label.size(0) && 0 <= x0 && x0 < x1 && x1 <= label.size(1),
            "window captions: window [", y0, ", ", y1, ") x [", x0, ", ", x1, ") outside the label map ",
            label.sizes());
  PAT_CHECK(names.size() == is_background.size(), "window captions: ", names.size(), " class names but ",
            is_background.size(), " background flags");
  const auto window = label.slice(0, y0, y1).slice(1, x0, x1).to(torch::kLong).contiguous();
  const auto* v = window.data_ptr<int64_t>();
  std::vector<int64_t> area(names.size(), 0);
  for (int64_t i = 0; i < window.numel(); ++i)
    if (v[i] >= 0 && v[i] < int64_t(names.size())) ++area[size_t(v[i])];
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return area[a] > area[b]; });

  const int64_t pixels = window.numel();
  const int64_t threshold = std::max<int64_t>(visible_pixel_threshold(pixels), (pixels * 5 + 99) / 100);
  SceneContent content;
  for (size_t c : order)
    if (area[c] >= threshold) (is_background[c] ? content.backgrounds : content.objects).push_back(names[c]);
  if (content.backgrounds.empty() && content.objects.empty() && !order.empty() && area[order[0]] > 0)
    (is_background[order[0]] ? content.backgrounds : content.objects).push_back(names[order[0]]);
  return content;
}

std::vector<CaptionedWindow> draw_captioned_windows(const torch::Tensor& label, int64_t patch, int64_t count,
                                                    const std::vector<std::string>& names,
                                                    const std::vector<bool>& is_background, Rng& r) {
  PAT_CHECK(label.dim() == 2 && patch > 0 && label.size(0) % patch == 0 && label.size(1) % patch == 0,
            "window captions: expected a label map [H, W] with H and W multiples of the patch (", patch, "), got ",
            label.sizes());
  const int64_t gh = label.size(0) / patch, gw = label.size(1) / patch, g = std::min(gh, gw);
  const int64_t lo = std::max<int64_t>(1, (g + 3) / 4), hi = std::max(lo, g * 2 / 3);
  // The patches whose centre pixel shows an object: half of the windows hold one of them.
  const auto centres = label.slice(0, patch / 2, label.size(0), patch).slice(1, patch / 2, label.size(1), patch)
                           .to(torch::kLong).contiguous();
  std::vector<int64_t> object_patches;
  for (int64_t i = 0; i < centres.numel(); ++i) {
    const int64_t c = centres.data_ptr<int64_t>()[i];
    if (c >= 0 && c < int64_t(names.size()) && !is_background[size_t(c)]) object_patches.push_back(i);
  }
  std::vector<CaptionedWindow> windows;
  for (int64_t k = 0; k < count; ++k) {
    CaptionedWindow w;
    w.size = r.randint(lo, hi + 1);
    if (!object_patches.empty() && r.bernoulli(0.5)) {
      const int64_t p = object_patches[size_t(r.randint(0, int64_t(object_patches.size())))];
      w.top = std::clamp(p / gw - r.randint(0, w.size), int64_t(0), gh - w.size);
      w.left = std::clamp(p % gw - r.randint(0, w.size), int64_t(0), gw - w.size);
    } else {
      w.top = r.randint(0, gh - w.size + 1);
      w.left = r.randint(0, gw - w.size + 1);
    }
    const auto content = describe_label_window(label, w.top * patch, (w.top + w.size) * patch, w.left * patch,
                                               (w.left + w.size) * patch, names, is_background);
    if (content.backgrounds.empty() && content.objects.empty()) continue;
    w.caption = make_caption(content, r);
    windows.push_back(std::move(w));
  }
  return windows;
}

}  // namespace pat::data
