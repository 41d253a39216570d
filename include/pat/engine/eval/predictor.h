#pragma once
/// \file `pat_infer`'s work: one image in, a label map, a colored overlay with a legend and a JSON summary out.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pat/config/config.h"
#include "pat/model/seg_model.h"

namespace pat::engine {

/// The image files named by `inputs` (files as given, directories expanded to their images, sorted).
/// A missing path is a `pat::Error`.
std::vector<std::string> collect_images(const std::vector<std::string>& inputs);

/// Segments `image_path` with `model` (classes set, eval mode) and writes, atomically and only when the
/// whole prediction succeeded: `<output_dir>/<stem>.png` (label ids, 8-bit; 16-bit beyond 255 classes;
/// unlabeled pixels 255 / 65535), `<stem>_color.png`, `<stem>_overlay.png` (with a legend) and
/// `<stem>.json` (classes present with pixel fractions). Pixels whose probability is below `threshold`
/// stay unlabeled. Returns the summary.
nlohmann::json predict_file(model::SegModelImpl& model, const std::string& image_path, const Config& config,
                            const std::string& output_dir, double threshold);

}  // namespace pat::engine
