#pragma once
/// \file Line plots (loss curves, mIoU over steps) drawn with OpenCV only, saved as PNG.

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace pat::vis {

/// One named curve. Points with a non-finite x or y are skipped (the line breaks there).
struct Series {
  std::string name;
  std::vector<double> xs;
  std::vector<double> ys;
};

/// Plot layout.
struct PlotOptions {
  /// Image width in pixels.
  int width = 900;
  /// Image height in pixels.
  int height = 540;
  /// Label under the x axis.
  std::string x_label = "step";
  /// Label left of the y axis (drawn vertically; empty: none).
  std::string y_label = "";
};

/// Colour of the i-th series (BGR; a fixed list of 10 distinct colours, repeating).
cv::Scalar plot_series_color(size_t index);

/// Renders the plot: white background, axes, grid, "nice" ticks with numbers, one polyline per
/// series in `plot_series_color(i)`, a legend (top right), the title and the axis labels.
/// Errors: no series, a series without points or with xs/ys of different lengths, no finite point,
/// an image smaller than 200×150. Returns CV_8UC3 BGR.
cv::Mat render_plot(const std::string& title, const std::vector<Series>& series, const PlotOptions& options = {});

/// `render_plot` written to `path` as PNG, atomically (an unwritable path is a `pat::Error`).
void plot_series(const std::string& path, const std::string& title, const std::vector<Series>& series,
                 const PlotOptions& options = {});

}  // namespace pat::vis
