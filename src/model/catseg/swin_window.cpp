#include "pat/model/catseg/swin_window.h"

#include <vector>

#include <torch/torch.h>

#include "pat/core/error.h"

namespace pat::model {

torch::Tensor window_partition(const torch::Tensor& x, int64_t window) {
  PAT_CHECK(x.dim() == 4, "window_partition: expected [B, H, W, C], got ", x.sizes());
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  PAT_CHECK(window > 0 && h % window == 0 && w % window == 0,
            "window_partition: expected H and W to be multiples of the window ", window, ", got ", h, "x", w);
  return x.reshape({b, h / window, window, w / window, window, c})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({-1, window, window, c});
}

torch::Tensor window_reverse(const torch::Tensor& windows, int64_t window, int64_t height, int64_t width) {
  PAT_CHECK(windows.dim() == 4 && windows.size(1) == window && windows.size(2) == window,
            "window_reverse: expected [N, ", window, ", ", window, ", C], got ", windows.sizes());
  PAT_CHECK(height % window == 0 && width % window == 0, "window_reverse: expected H and W to be multiples of ", window,
            ", got ", height, "x", width);
  const int64_t per_image = (height / window) * (width / window);
  PAT_CHECK(windows.size(0) % per_image == 0, "window_reverse: expected a multiple of ", per_image, " windows, got ",
            windows.size(0));
  const int64_t b = windows.size(0) / per_image;
  return windows.reshape({b, height / window, width / window, window, window, -1})
      .permute({0, 1, 3, 2, 4, 5})
      .reshape({b, height, width, -1});
}

namespace {

// Region index (0, 1, 2) of a coordinate along one axis of the shifted map.
int64_t region_of(int64_t pos, int64_t size, int64_t window, int64_t shift) {
  if (pos < size - window) return 0;
  if (pos < size - shift) return 1;
  return 2;
}

}  // namespace

torch::Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window, int64_t shift) {
  PAT_CHECK(window > 0 && height % window == 0 && width % window == 0,
            "shifted_window_mask: expected H and W to be multiples of the window ", window, ", got ", height, "x",
            width);
  PAT_CHECK(shift > 0 && shift < window, "shifted_window_mask: expected 0 < shift < window, got shift ", shift,
            " and window ", window);
  std::vector<float> labels(static_cast<size_t>(height * width));
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x)
      labels[y * width + x] =
          static_cast<float>(3 * region_of(y, height, window, shift) + region_of(x, width, window, shift));
  auto map = torch::from_blob(labels.data(), {1, height, width, 1}, torch::kFloat32).clone();
  auto regions = window_partition(map, window).reshape({-1, window * window});  // [nW, N]
  auto diff = regions.unsqueeze(1) - regions.unsqueeze(2);                      // [nW, N, N]
  return torch::where(diff != 0, torch::full_like(diff, -100.0), torch::zeros_like(diff));
}

}  // namespace pat::model
