#pragma once
/// \file Conversions of raw benchmark downloads into the detectron2 layouts CAT-Seg reads
/// (CATSEG.md §3), used by the `pat_prepare` tool.
///
/// Conversions are multi-threaded, resumable (finished outputs are skipped) and never leave a
/// half-written file (each file is written to a temporary and renamed).

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace pat::data {

struct PrepareOptions {
  /// The raw download folder (see `prepare_dataset` for what each dataset expects in it).
  std::string source;
  /// Output data root; empty: `resolve_data_root()`.
  std::string data_root;
  /// Worker threads; 0: all hardware threads.
  int num_threads = 0;
  /// Redo outputs that already exist.
  bool overwrite = false;
  /// Symlink image folders into the data root (else copy the files).
  bool link_images = true;
  /// Progress callback (done, total), called from worker threads one at a time.
  std::function<void(size_t done, size_t total)> progress;
};

struct PrepareReport {
  /// Label maps written in this run.
  size_t converted = 0;
  /// Outputs that already existed (resume).
  size_t skipped_existing = 0;
  /// Masks with no labelled pixel after mapping, not written (VOC-20, as the official script).
  size_t skipped_empty = 0;
  /// Image files copied (when image folders could not be linked).
  size_t images_copied = 0;
  /// Output label folders and class-list files, for the user.
  std::vector<std::string> outputs;
};

/// 256-entry value maps (raw uint8 value -> prepared uint8 value).
using LabelLut = std::array<uint8_t, 256>;

/// COCO-Stuff: 0-based COCO id -> 171 contiguous trainIds (things 0..89 minus the 10 gaps -> 0..79,
/// stuff 91..181 -> 80..170), anything else -> 255.
LabelLut coco_stuff_lut();
/// ADE-150: v - 1 in uint8 (0 wraps to 255).
LabelLut ade150_lut();
/// VOC: 0 -> 255 (or 20 with `background`), 1..20 -> 0..19, everything else -> 255.
LabelLut voc_lut(bool background);

/// Maps a label map (`CV_32SC1` or `CV_8UC1`, values 0..255) through `lut` into a `CV_8UC1` map.
cv::Mat apply_lut(const cv::Mat& label, const LabelLut& lut, const std::string& source);

/// ADE class names from objectInfo150.csv (comma separated, synonyms joined by ';') or
/// objectInfo150.txt (tab separated, synonyms joined by ", "), as CAT-Seg entries ("a, b").
std::vector<std::string> read_ade_object_info(const std::string& path);

/// Datasets `prepare_dataset` knows: "coco-stuff", "ade150", "voc".
std::vector<std::string> prepare_dataset_names();

/// Converts one dataset:
/// - coco-stuff: source holds images/{train2017,val2017} (or {train2017,val2017}) and
///   stuffthingmaps_trainval2017/{train2017,val2017} (or annotations/{...}); writes
///   <root>/coco-stuff/annotations_detectron2/{split} and links <root>/coco-stuff/images/{split}.
/// - ade150: source is (or contains) ADEChallengeData2016 with images/ and annotations/
///   {training,validation}; writes annotations_detectron2/{split}, links images, and writes
///   <root>/ade150.json from objectInfo150.{csv,txt} when present (an existing list is kept).
/// - voc: source is (or contains VOCdevkit/) VOC2012 with JPEGImages, ImageSets/Segmentation/val.txt
///   and SegmentationClassAug (inside VOC2012 or next to it); writes annotations_detectron2/val and
///   annotations_detectron2_bg/val under <root>/VOCdevkit/VOC2012 and links JPEGImages.
PrepareReport prepare_dataset(const std::string& name, const PrepareOptions& options);

}  // namespace pat::data
