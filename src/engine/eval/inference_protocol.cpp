#include "pat/engine/eval/inference_protocol.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/log.h"

namespace pat::engine {
namespace {

namespace F = torch::nn::functional;

constexpr int64_t kMiB = 1024 * 1024;

/// Logits at or below this have a float32 sigmoid of exactly 0 (exp(-x) overflows beyond 88.7), and so do
/// bilinear mixes of them: CAT-Seg's pruned classes (logit -100 in the views that did not select them).
constexpr double kVanishingLogit = -90.0;

/// [V, T] bool (CPU): whether a view's plane of a class has a logit above kVanishingLogit (or a NaN).
torch::Tensor live_planes(const torch::Tensor& logits) {
  return logits.amax({2, 3}).le(kVanishingLogit).logical_not().to(torch::kCPU);
}

/// Bilinear resize (align_corners=false, no antialiasing) of [N, C, h, w] to [N, C, height, width].
torch::Tensor resize(const torch::Tensor& x, int64_t height, int64_t width) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{height, width})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

/// Bilinear resize of every [h, w] plane of `x` [..., h, w] as its own single-channel image.
/// LibTorch's CPU kernel picks its code path from the memory layout (one channel vs several,
/// contiguous or not), and the paths differ in the last bit. Resizing contiguous [N, 1, h, w]
/// batches always takes the same path, so every class's values are independent of how many
/// classes are processed together (chunked == unchunked, bitwise).
torch::Tensor resize_planes(const torch::Tensor& x, int64_t height, int64_t width) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 2);
  auto planes = x.reshape({-1, 1, x.size(-2), x.size(-1)}).contiguous();
  shape.push_back(height);
  shape.push_back(width);
  return resize(planes, height, width).view(shape);
}

torch::Tensor checked_image(const torch::Tensor& image, const char* where) {
  PAT_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3, where, ": expected an RGB image [3, H, W], got ",
            image.defined() ? image.sizes() : torch::IntArrayRef{});
  PAT_CHECK(image.size(1) >= 1 && image.size(2) >= 1, where, ": empty image ", image.sizes());
  PAT_CHECK(!image.is_complex() && image.scalar_type() != torch::kBool, where, ": expected a real image, got ",
            image.scalar_type());
  return image.to(torch::kFloat32);
}

std::pair<int64_t, int64_t> resolve_output_size(const torch::Tensor& image, torch::IntArrayRef output_size,
                                                const char* where) {
  if (output_size.empty()) return {image.size(1), image.size(2)};
  PAT_CHECK(output_size.size() == 2 && output_size[0] >= 1 && output_size[1] >= 1, where,
            ": expected output_size {height, width} with positive entries, got ", output_size);
  return {output_size[0], output_size[1]};
}

torch::Tensor run_model(const LogitsFn& logits_fn, const torch::Tensor& views, const char* where) {
  PAT_CHECK(static_cast<bool>(logits_fn), where, ": no logits function");
  torch::Tensor logits = logits_fn(views);
  PAT_CHECK(logits.defined() && logits.dim() == 4 && logits.size(0) == views.size(0) && logits.size(1) >= 1 &&
                logits.size(2) >= 1 && logits.size(3) >= 1,
            where, ": the logits function must return [", views.size(0), ", T, h, w] for ", views.size(0),
            " views, got ", logits.defined() ? logits.sizes() : torch::IntArrayRef{});
  PAT_CHECK(logits.is_floating_point(), where, ": expected floating-point logits, got ", logits.scalar_type());
  return logits.detach();
}

/// Sigmoid of each class separately, in place. `x` [C, ...] contiguous. Going class by class keeps
/// every call's shape independent of the chunk size, so vectorized and scalar code paths (whose exp
/// differ in the last bit) cover the same elements whatever the chunking: results are bitwise stable.
void sigmoid_per_class_(torch::Tensor& x) {
  PAT_ASSERT(x.is_contiguous());
  for (int64_t t = 0; t < x.size(0); ++t) x[t].sigmoid_();
}

/// Running max / argmax over class chunks, classes in ascending order (first index wins ties, and the first
/// NaN wins, as a single argmax does).
class RunningArgmax {
 public:
  void update(const torch::Tensor& probs, const torch::Tensor& classes) {  // probs [c, H, W], classes [c] int64
    if (probs.is_cpu() && probs.scalar_type() == torch::kFloat32) return update_cpu(probs.contiguous(), classes);
    auto index = probs.argmax(0);
    auto value = probs.gather(0, index.unsqueeze(0)).squeeze(0);
    index = classes.index_select(0, index.flatten()).view_as(index);
    if (!best_.defined()) {
      best_ = value;
      label_ = index;
      return;
    }
    auto better = value > best_;
    best_ = torch::where(better, value, best_);
    label_ = torch::where(better, index, label_);
  }
  SegPrediction result() const { return {label_, best_}; }

 private:
  /// One pass over the chunk's planes, pixel blocks in parallel: LibTorch's argmax over the class axis (a
  /// strided reduction) plus gather and two where() cost 7 ns per class and pixel, this under 1.
  void update_cpu(const torch::Tensor& probs, const torch::Tensor& classes) {
    const int64_t n = probs.size(0), pixels = probs.numel() / std::max<int64_t>(n, 1);
    if (!best_.defined()) {
      best_ = torch::full({probs.size(1), probs.size(2)}, -std::numeric_limits<float>::infinity());
      label_ = torch::zeros({probs.size(1), probs.size(2)}, torch::kInt64);
    }
    const auto ids = classes.to(torch::kCPU).contiguous();
    const float* p = probs.data_ptr<float>();
    const int64_t* id = ids.data_ptr<int64_t>();
    float* best = best_.data_ptr<float>();
    int64_t* label = label_.data_ptr<int64_t>();
    at::parallel_for(0, pixels, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t c = 0; c < n; ++c) {
        const float* plane = p + c * pixels;
        for (int64_t i = begin; i < end; ++i) {
          const float v = plane[i];
          if (v > best[i] || (std::isnan(v) && !std::isnan(best[i]))) {
            best[i] = v;
            label[i] = id[c];
          }
        }
      }
    });
  }

  torch::Tensor best_, label_;
};

/// Probabilities at the tile size [m, K, K] of the classes a view has (undefined when none), and their rows
/// [m] in 0..n of the folded result.
using ViewProbs = std::function<torch::Tensor(int64_t view, torch::Tensor& rows)>;

/// The sliding-window fold of `n` classes -> [n, R, R]: the tiles' probabilities averaged where they overlap,
/// then averaged with the global view's, resized to R. Classes a view does not return count as zeros there.
torch::Tensor fold_views(int64_t n, const ViewProbs& view_probs, const SlidingWindowOptions& options,
                         const torch::TensorOptions& tensor_options) {
  const auto tiles = sliding_window_tiles(options);
  const int64_t k = options.kernel, r = options.out_res;
  auto out = torch::zeros({n, r, r}, tensor_options);
  torch::Tensor rows;
  for (size_t i = 0; i < tiles.size(); ++i) {
    auto up = view_probs(static_cast<int64_t>(i), rows);
    if (up.defined())
      out.slice(1, tiles[i].y, tiles[i].y + k).slice(2, tiles[i].x, tiles[i].x + k).index_add_(0, rows, up);
  }
  out.div_(sliding_window_overlap_count(options, tensor_options));
  auto global = view_probs(static_cast<int64_t>(tiles.size()), rows);
  if (global.defined()) out.index_add_(0, rows, resize_planes(global, r, r));
  return out.div_(2.0);
}

/// `classes` (ascending indices into T) of the sliding-window protocol at the output size: [n, H, W] float32.
/// `live` [V, T] bool (CPU): whether a view's plane of a class has logits above kVanishingLogit. The other
/// planes are exact zeros after the sigmoid: their resize, sigmoid and fold are skipped (adding a zero
/// changes nothing), so the work follows the classes each view kept, not the vocabulary.
torch::Tensor sliding_classes(const torch::Tensor& logits, const std::vector<int64_t>& classes,
                              const torch::Tensor& live, const SlidingWindowOptions& options, int64_t height,
                              int64_t width) {
  const auto tiles = sliding_window_tiles(options);
  const int64_t views = logits.size(0), n = static_cast<int64_t>(classes.size()), k = options.kernel;
  PAT_CHECK(views == static_cast<int64_t>(tiles.size()) + 1, "sliding window: expected logits of ", tiles.size() + 1,
            " views, got ", views);
  const auto live_at = live.accessor<bool, 2>();
  const auto class_index = torch::tensor(classes, torch::kInt64).to(logits.device());
  // Probabilities at the tile size of the classes live in view `v` [m, K, K], and their rows in 0..n.
  ViewProbs view_probs = [&](int64_t v, torch::Tensor& rows) -> torch::Tensor {
    std::vector<int64_t> picked;
    for (int64_t j = 0; j < n; ++j)
      if (live_at[v][classes[j]]) picked.push_back(j);
    if (picked.empty()) return {};
    rows = torch::tensor(picked, torch::kInt64).to(logits.device());
    auto planes = logits.select(0, v).index_select(0, class_index.index_select(0, rows)).to(torch::kFloat32);
    auto up = resize_planes(planes, k, k);
    sigmoid_per_class_(up);
    return up;
  };
  const auto folded = fold_views(n, view_probs, options, logits.options().dtype(torch::kFloat32));
  return resize_planes(folded, height, width);
}

/// The protocol's argmax over the classes of `logits` [V, T, h, w], in class chunks. With `skip_vanishing`,
/// classes whose planes vanish in every view are left out and the others' vanishing planes skipped.
SegPrediction predict_classes(const torch::Tensor& logits, const SlidingWindowOptions& options, int64_t height,
                              int64_t width, bool skip_vanishing) {
  const int64_t v = logits.size(0), t = logits.size(1), k = options.kernel, r = options.out_res;
  const auto live = skip_vanishing ? live_planes(logits) : torch::ones({v, t}, torch::kBool);
  const auto any_view = live.any(0);
  const auto any_at = any_view.accessor<bool, 1>();
  std::vector<int64_t> classes;
  for (int64_t c = 0; c < t; ++c)
    if (any_at[c]) classes.push_back(c);
  const auto n = static_cast<int64_t>(classes.size());
  const int64_t per_class = 4 * (v * k * k + 2 * r * r + height * width);
  const int64_t chunk =
      resolve_class_chunk(n, options.class_chunk, options.memory_budget_mb, 4 * v * n * k * k, per_class);
  if (chunk < n) PAT_LOG_DEBUG("sliding window: {} of {} classes in chunks of {}", n, t, chunk);
  RunningArgmax running;
  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    const std::vector<int64_t> part(classes.begin() + c0, classes.begin() + std::min(n, c0 + chunk));
    running.update(sliding_classes(logits, part, live, options, height, width),
                   torch::tensor(part, torch::kInt64).to(logits.device()));
  }
  return running.result();
}

}  // namespace

int64_t resolve_class_chunk(int64_t num_classes, int64_t class_chunk, int64_t memory_budget_mb, int64_t full_bytes,
                            int64_t bytes_per_class) {
  PAT_CHECK(class_chunk >= 0, "class_chunk: expected >= 0 (0 = automatic), got ", class_chunk);
  PAT_CHECK(memory_budget_mb >= 0, "memory_budget_mb: expected >= 0, got ", memory_budget_mb);
  if (num_classes <= 0) return 1;
  if (class_chunk > 0) return std::min(class_chunk, num_classes);
  const int64_t budget = memory_budget_mb * kMiB;
  if (full_bytes <= budget) return num_classes;
  return std::clamp<int64_t>(budget / std::max<int64_t>(bytes_per_class, 1), 1, num_classes);
}

int64_t sliding_window_stride(const SlidingWindowOptions& options) {
  PAT_CHECK(options.kernel >= 1, "sliding window: expected kernel >= 1, got ", options.kernel);
  PAT_CHECK(options.out_res >= options.kernel, "sliding window: expected out_res >= kernel (", options.kernel,
            "), got ", options.out_res);
  PAT_CHECK(options.overlap >= 0.0 && options.overlap < 1.0, "sliding window: expected 0 <= overlap < 1, got ",
            options.overlap);
  const auto stride = static_cast<int64_t>(static_cast<double>(options.kernel) * (1.0 - options.overlap));
  PAT_CHECK(stride >= 1, "sliding window: kernel ", options.kernel, " with overlap ", options.overlap,
            " gives a stride of 0");
  return stride;
}

std::vector<TileOrigin> sliding_window_tiles(const SlidingWindowOptions& options) {
  const int64_t stride = sliding_window_stride(options);
  std::vector<int64_t> offsets;
  for (int64_t p = 0; p + options.kernel <= options.out_res; p += stride) offsets.push_back(p);
  if (offsets.back() + options.kernel < options.out_res) offsets.push_back(options.out_res - options.kernel);
  std::vector<TileOrigin> tiles;
  for (int64_t y : offsets)
    for (int64_t x : offsets) tiles.push_back({y, x});
  return tiles;
}

torch::Tensor sliding_window_overlap_count(const SlidingWindowOptions& options,
                                           const torch::TensorOptions& tensor_options) {
  const auto tiles = sliding_window_tiles(options);
  const int64_t k = options.kernel;
  auto count = torch::zeros({options.out_res, options.out_res}, tensor_options.dtype(torch::kFloat32));
  for (const auto& t : tiles) count.slice(0, t.y, t.y + k).slice(1, t.x, t.x + k).add_(1.0);
  return count;
}

torch::Tensor sliding_window_views(const torch::Tensor& image_in, const SlidingWindowOptions& options) {
  auto image = checked_image(image_in, "sliding_window_views").unsqueeze(0);
  const auto tiles = sliding_window_tiles(options);
  const int64_t k = options.kernel;
  auto warped = resize(image, options.out_res, options.out_res);
  std::vector<torch::Tensor> views;
  for (const auto& t : tiles) views.push_back(warped.slice(2, t.y, t.y + k).slice(3, t.x, t.x + k));
  views.push_back(resize(image, k, k));
  return torch::cat(views, 0);
}

torch::Tensor sliding_window_fold(const torch::Tensor& probs, const SlidingWindowOptions& options) {
  PAT_CHECK(probs.defined() && probs.dim() == 4, "sliding_window_fold: expected [V, C, K, K] probabilities, got ",
            probs.defined() ? probs.sizes() : torch::IntArrayRef{});
  const auto tiles = sliding_window_tiles(options);
  const int64_t k = options.kernel, c = probs.size(1);
  PAT_CHECK(probs.size(0) == static_cast<int64_t>(tiles.size()) + 1 && probs.size(2) == k && probs.size(3) == k,
            "sliding_window_fold: expected [", tiles.size() + 1, ", C, ", k, ", ", k, "] probabilities, got ",
            probs.sizes());
  const auto p = probs.to(torch::kFloat32);
  const auto all = torch::arange(c, torch::TensorOptions(torch::kInt64).device(p.device()));
  const ViewProbs every_class = [&](int64_t v, torch::Tensor& rows) {
    rows = all;
    return p.select(0, v);
  };
  return fold_views(c, every_class, options, p.options());
}

SegPrediction predict_sliding_window(const torch::Tensor& image, const LogitsFn& logits_fn,
                                     const SlidingWindowOptions& options, torch::IntArrayRef output_size) {
  auto views = sliding_window_views(image, options);
  const auto [height, width] = resolve_output_size(image, output_size, "predict_sliding_window");
  torch::NoGradGuard no_grad;
  auto logits = run_model(logits_fn, views, "predict_sliding_window");
  views = torch::Tensor();
  // Classes that vanish in every view have probability 0 everywhere: they win no pixel unless its best
  // probability is 0 too, where the first class index with 0 wins. Then (or if every class vanished)
  // the whole vocabulary is evaluated, so that the result never depends on the skipping.
  auto prediction = predict_classes(logits, options, height, width, options.skip_vanishing);
  if (options.skip_vanishing && (!prediction.max_prob.defined() || prediction.max_prob.eq(0).any().item<bool>()))
    prediction = predict_classes(logits, options, height, width, /*skip_vanishing=*/false);
  return prediction;
}

torch::Tensor sliding_window_probabilities(const torch::Tensor& image, const LogitsFn& logits_fn,
                                           const SlidingWindowOptions& options, torch::IntArrayRef output_size) {
  auto views = sliding_window_views(image, options);
  const auto [height, width] = resolve_output_size(image, output_size, "sliding_window_probabilities");
  torch::NoGradGuard no_grad;
  auto logits = run_model(logits_fn, views, "sliding_window_probabilities");
  std::vector<int64_t> all(static_cast<size_t>(logits.size(1)));
  std::iota(all.begin(), all.end(), 0);
  return sliding_classes(logits, all, live_planes(logits), options, height, width);
}

SegPrediction predict_whole_image(const torch::Tensor& image_in, const LogitsFn& logits_fn,
                                  const WholeImageOptions& options, torch::IntArrayRef output_size) {
  auto image = checked_image(image_in, "predict_whole_image");
  const auto [height, width] = resolve_output_size(image, output_size, "predict_whole_image");
  PAT_CHECK(options.size >= 1, "predict_whole_image: expected size >= 1, got ", options.size);
  PAT_CHECK(options.size_divisibility >= 0, "predict_whole_image: expected size_divisibility >= 0, got ",
            options.size_divisibility);
  PAT_CHECK(options.pad_value.size() == 3, "predict_whole_image: expected 3 pad values (RGB), got ",
            options.pad_value.size());
  const int64_t h0 = image.size(1), w0 = image.size(2);
  const int64_t d = std::max<int64_t>(options.size_divisibility, 1);
  const int64_t hp = (h0 + d - 1) / d * d, wp = (w0 + d - 1) / d * d;
  if (hp != h0 || wp != w0) {
    auto canvas = torch::empty({3, hp, wp}, image.options());
    for (int64_t ch = 0; ch < 3; ++ch) canvas[ch].fill_(options.pad_value[ch]);
    canvas.slice(1, 0, h0).slice(2, 0, w0).copy_(image);
    image = canvas;
  }
  auto view = resize(image.unsqueeze(0), options.size, options.size);
  torch::NoGradGuard no_grad;
  auto logits = run_model(logits_fn, view, "predict_whole_image");
  view = torch::Tensor();
  const int64_t t = logits.size(1), h = logits.size(2), w = logits.size(3);
  const int64_t chunk = resolve_class_chunk(t, options.class_chunk, options.memory_budget_mb, 4 * t * height * width,
                                            4 * (h * w + 2 * height * width));
  RunningArgmax running;
  for (int64_t c0 = 0; c0 < t; c0 += chunk) {
    const int64_t c1 = std::min(t, c0 + chunk);
    auto probs = logits[0].slice(0, c0, c1).to(torch::kFloat32).contiguous().clone();
    sigmoid_per_class_(probs);
    // sem_seg_postprocess crops the low-resolution output with the un-padded image size.
    probs = probs.slice(1, 0, std::min(h0, h)).slice(2, 0, std::min(w0, w));
    running.update(resize_planes(probs, height, width),
                   torch::arange(c0, c1, torch::TensorOptions(torch::kInt64).device(probs.device())));
  }
  return running.result();
}

}  // namespace pat::engine
