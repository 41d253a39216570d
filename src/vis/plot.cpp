#include "pat/vis/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/vis/image.h"
#include "vis/detail/text.h"

namespace pat::vis {
namespace {

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

/// A 1-2-5 step giving about `target` intervals over `span`.
double nice_step(double span, int target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double nice = r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0;
  return nice * magnitude;
}

/// Widens a degenerate range and snaps it outward to the tick step.
void finish_range(Range& range, int target, double* step) {
  if (!(range.hi > range.lo)) {
    const double half = range.lo == 0.0 ? 1.0 : std::abs(range.lo) * 0.1;
    range.lo -= half;
    range.hi += half;
  }
  *step = nice_step(range.hi - range.lo, target);
  range.lo = std::floor(range.lo / *step + 1e-9) * *step;
  range.hi = std::ceil(range.hi / *step - 1e-9) * *step;
}

std::string tick_text(double value, double step) {
  if (std::abs(value) < step * 1e-6) value = 0.0;
  char buffer[64];
  const double magnitude = std::max(std::abs(value), step);
  if (magnitude >= 1e6 || magnitude < 1e-3) {
    std::snprintf(buffer, sizeof(buffer), "%.3g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  }
  return buffer;
}

}  // namespace

cv::Scalar plot_series_color(size_t index) {
  static const cv::Scalar kColors[] = {{180, 119, 31},  {14, 127, 255}, {44, 160, 44},   {40, 39, 214},
                                       {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                       {34, 189, 188},  {207, 190, 23}};
  return kColors[index % (sizeof(kColors) / sizeof(kColors[0]))];
}

cv::Mat render_plot(const std::string& title, const std::vector<Series>& series, const PlotOptions& options) {
  PAT_CHECK(!series.empty(), "plot '", title, "': no series to plot");
  PAT_CHECK(options.width >= 200 && options.height >= 150, "plot '", title, "': expected at least 200x150 pixels, got ",
            options.width, "x", options.height);
  Range xr, yr;
  for (const auto& s : series) {
    PAT_CHECK(s.xs.size() == s.ys.size(), "plot '", title, "': series '", s.name, "' has ", s.xs.size(), " x and ",
              s.ys.size(), " y values");
    PAT_CHECK(!s.xs.empty(), "plot '", title, "': series '", s.name, "' is empty");
    for (size_t i = 0; i < s.xs.size(); ++i) {
      if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i])) continue;
      xr.add(s.xs[i]);
      yr.add(s.ys[i]);
    }
  }
  PAT_CHECK(xr.lo <= xr.hi, "plot '", title, "': no finite point in any series");
  double x_step = 0, y_step = 0;
  finish_range(xr, 8, &x_step);
  finish_range(yr, 6, &y_step);

  const double scale = 0.5;
  const int text_h = detail::text_size("0", scale, 1).height;
  int y_tick_width = 0;
  for (double v = yr.lo; v <= yr.hi + y_step * 0.5; v += y_step) {
    y_tick_width = std::max(y_tick_width, detail::text_size(tick_text(v, y_step), scale, 1).width);
  }
  const int left = 16 + y_tick_width + (options.y_label.empty() ? 0 : text_h + 12);
  const int right = 24, top = 16 + 2 * text_h + 10, bottom = 24 + 2 * text_h + 12;
  const int pw = options.width - left - right, ph = options.height - top - bottom;
  PAT_CHECK(pw >= 40 && ph >= 40, "plot '", title, "': the image is too small for its labels");

  cv::Mat canvas(options.height, options.width, CV_8UC3, cv::Scalar(255, 255, 255));
  auto to_px = [&](double x, double y) {
    return cv::Point2d(left + (x - xr.lo) / (xr.hi - xr.lo) * pw, top + ph - (y - yr.lo) / (yr.hi - yr.lo) * ph);
  };
  const cv::Scalar grid(230, 230, 230), ink(0, 0, 0);
  // Grid, ticks and tick numbers.
  for (double v = xr.lo; v <= xr.hi + x_step * 0.5; v += x_step) {
    const int px = static_cast<int>(std::lround(to_px(v, yr.lo).x));
    cv::line(canvas, {px, top}, {px, top + ph}, grid, 1);
    cv::line(canvas, {px, top + ph}, {px, top + ph + 5}, ink, 1);
    const std::string text = tick_text(v, x_step);
    const cv::Size size = detail::text_size(text, scale, 1);
    detail::put_text(canvas, text, {px - size.width / 2, top + ph + 8 + size.height}, scale, ink);
  }
  for (double v = yr.lo; v <= yr.hi + y_step * 0.5; v += y_step) {
    const int py = static_cast<int>(std::lround(to_px(xr.lo, v).y));
    cv::line(canvas, {left, py}, {left + pw, py}, grid, 1);
    cv::line(canvas, {left - 5, py}, {left, py}, ink, 1);
    const std::string text = tick_text(v, y_step);
    const cv::Size size = detail::text_size(text, scale, 1);
    detail::put_text(canvas, text, {left - 8 - size.width, py + size.height / 2}, scale, ink);
  }
  cv::rectangle(canvas, cv::Rect(left, top, pw, ph), ink, 1);

  // Curves, clipped to the plot area.
  cv::Mat area = canvas(cv::Rect(left, top, pw + 1, ph + 1));
  for (size_t s = 0; s < series.size(); ++s) {
    std::vector<cv::Point> run;
    auto flush = [&] {
      if (run.size() == 1) cv::circle(area, run[0], 2, plot_series_color(s), cv::FILLED, cv::LINE_AA);
      if (run.size() > 1) cv::polylines(area, run, false, plot_series_color(s), 2, cv::LINE_AA);
      run.clear();
    };
    for (size_t i = 0; i < series[s].xs.size(); ++i) {
      const double x = series[s].xs[i], y = series[s].ys[i];
      if (!std::isfinite(x) || !std::isfinite(y)) {
        flush();
        continue;
      }
      const cv::Point2d p = to_px(x, y);
      run.emplace_back(static_cast<int>(std::lround(p.x)) - left, static_cast<int>(std::lround(p.y)) - top);
    }
    flush();
  }

  // Legend (top right inside the plot area).
  int name_width = 0;
  for (const auto& s : series) name_width = std::max(name_width, detail::text_size(s.name, scale, 1).width);
  const int row = text_h + 10, sample = 24;
  const int lw = 8 + sample + 6 + name_width + 8, lh = 6 + row * static_cast<int>(series.size());
  const cv::Rect box(std::max(left + 1, left + pw - lw - 8), top + 8, std::min(lw, pw - 2), std::min(lh, ph - 10));
  cv::rectangle(canvas, box, cv::Scalar(255, 255, 255), cv::FILLED);
  cv::rectangle(canvas, box, cv::Scalar(160, 160, 160), 1);
  for (size_t s = 0; s < series.size(); ++s) {
    const int cy = box.y + 6 + row * static_cast<int>(s) + row / 2 - 2;
    if (cy + text_h / 2 > box.y + box.height) break;
    cv::line(canvas, {box.x + 8, cy}, {box.x + 8 + sample, cy}, plot_series_color(s), 3, cv::LINE_AA);
    detail::put_text(canvas, series[s].name, {box.x + 8 + sample + 6, cy + text_h / 2}, scale, ink);
  }

  // Title and axis labels.
  const cv::Size title_size = detail::text_size(title, 0.7, 2);
  detail::put_text(canvas, title, {std::max(4, (options.width - title_size.width) / 2), 12 + title_size.height}, 0.7,
                   ink, 2);
  const cv::Size xl = detail::text_size(options.x_label, scale, 1);
  detail::put_text(canvas, options.x_label, {left + (pw - xl.width) / 2, options.height - 10}, scale, ink);
  if (!options.y_label.empty()) {
    const cv::Size yl = detail::text_size(options.y_label, scale, 1);
    cv::Mat label(yl.height + 8, yl.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    detail::put_text(label, options.y_label, {2, yl.height + 2}, scale, ink);
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int x0 = 6, y0 = std::max(0, top + (ph - rotated.rows) / 2);
    const int h = std::min(rotated.rows, options.height - y0);
    rotated(cv::Rect(0, 0, rotated.cols, h)).copyTo(canvas(cv::Rect(x0, y0, rotated.cols, h)));
  }
  return canvas;
}

void plot_series(const std::string& path, const std::string& title, const std::vector<Series>& series,
                 const PlotOptions& options) {
  write_png(path, render_plot(title, series, options));
}

}  // namespace pat::vis
