#pragma once
/// \file Segmentation datasets: the `Sample` record, the `Dataset` interface, the folder dataset
/// (detectron2 `load_sem_seg` layouts and custom data) and the registry of benchmark layouts.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace pat::data {

/// One image with its label map, as read and then transformed.
struct Sample {
  /// RGB uint8 image, `CV_8UC3`, [H, W].
  cv::Mat image;
  /// Class ids, `CV_32SC1`, [H, W] (after test-time resizing it may keep the original size);
  /// values in [0, num_classes) or `ignore_label`. Empty when the dataset has no labels.
  cv::Mat label;
  /// The dataset's ignore value (255, 65535 for ADE-847, 459 for PC-459); padding uses it.
  int64_t ignore_label = 255;
  /// Index in the dataset.
  int64_t index = -1;
  /// File basename without extension (unique within the dataset).
  std::string name;
  /// Source files (empty for in-memory datasets); used in error messages.
  std::string image_path;
  std::string label_path;
  /// Image size as read, before transforms.
  int original_height = 0;
  int original_width = 0;
  /// A sentence describing the image (captioned datasets, for CLIP pretraining); empty otherwise.
  std::string caption;
};

/// A random-access set of samples. `get` must be safe to call from several threads at once.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Short name (registry name or the spec's name).
  virtual std::string name() const = 0;
  virtual size_t size() const = 0;
  /// Reads (or generates) sample `index`; errors are `pat::Error`s naming the file.
  virtual Sample get(size_t index) const = 0;
  /// Class names in label-id order; may be longer than `num_classes()` (VOC-20b scores 21 labels
  /// over a 59-name vocabulary) or empty when the class file is absent.
  virtual const std::vector<std::string>& class_names() const = 0;
  /// Labels lie in [0, num_classes) or equal `ignore_label()`.
  virtual int64_t num_classes() const = 0;
  virtual int64_t ignore_label() const = 0;
  /// Consecutive indices that belong in one batch (e.g. 2: scenes made as pairs of hard negatives); the
  /// loader shuffles whole groups and wants batches and start positions that are multiples of it.
  virtual int64_t sample_group() const { return 1; }
};

/// Where a dataset lives and how its labels read. Relative directories and the class file are
/// resolved against the data root.
struct DatasetSpec {
  /// Registry name or a free name for custom data.
  std::string name;
  /// Base of relative paths; empty: $PAT_DATASETS, else $DETECTRON2_DATASETS, else ./datasets.
  std::string data_root;
  /// Image folder (flat).
  std::string image_dir;
  /// Label folder (flat); images are paired with labels by basename.
  std::string label_dir;
  /// Image extension with the dot (".jpg"); empty: any image extension.
  std::string image_ext = ".jpg";
  /// Label extension with the dot (".png", ".tif").
  std::string label_ext = ".png";
  /// Label value that marks unlabelled pixels.
  int64_t ignore_label = 255;
  /// Class list (JSON array or text lines); empty: none.
  std::string class_file;
  /// Labels must lie in [0, num_classes) (or be ignore_label); 0: the class list's length.
  int64_t num_classes = 0;
  /// Check every label map's values when it is read.
  bool check_labels = true;
};

/// The data root: `configured` when non-empty, else $PAT_DATASETS, else $DETECTRON2_DATASETS,
/// else "./datasets".
std::string resolve_data_root(const std::string& configured = "");

/// Registry names of the benchmark layouts: coco_stuff_train, coco_stuff_val, ade150_train, ade150, ade847, pc59,
/// pc459, voc20, voc20b ('-' may replace '_', e.g. "coco-stuff-train"; detectron2 names such as
/// "ade20k_150_test_sem_seg" are accepted as aliases).
std::vector<std::string> builtin_dataset_names();

/// The spec of a benchmark layout (CATSEG.md §3) under `data_root` (resolved with
/// `resolve_data_root`). The class file is CAT-Seg's list name at the data root (e.g. "coco.json").
DatasetSpec builtin_dataset_spec(const std::string& name, const std::string& data_root = "");

/// A custom dataset in the generic layout: <root>/images, <root>/labels (PNG), <root>/classes.json,
/// any image extension, ignore 255.
DatasetSpec generic_dataset_spec(const std::string& root, const std::string& name = "custom");

/// Images and labels in two flat folders, paired by basename (detectron2 `load_sem_seg`): images
/// without a label (and labels without an image) are skipped; pairs are sorted by basename.
class FolderDataset : public Dataset {
 public:
  /// Lists the folders and loads the class list. Missing folders, no pairs, ambiguous basenames and
  /// class-list problems are `pat::Error`s. A missing class file is tolerated (empty names, warning)
  /// when `num_classes` is set.
  explicit FolderDataset(DatasetSpec spec);

  std::string name() const override { return spec_.name; }
  size_t size() const override { return image_paths_.size(); }
  Sample get(size_t index) const override;
  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t num_classes() const override { return num_classes_; }
  int64_t ignore_label() const override { return spec_.ignore_label; }

  /// The resolved spec (absolute-or-root-joined paths).
  const DatasetSpec& spec() const { return spec_; }
  const std::string& image_path(size_t index) const { return image_paths_.at(index); }
  const std::string& label_path(size_t index) const { return label_paths_.at(index); }
  /// Reads every label map and checks its values; returns the number of files checked.
  size_t validate() const;

 private:
  DatasetSpec spec_;
  std::vector<std::string> image_paths_, label_paths_, names_;
  std::vector<std::string> class_names_;
  int64_t num_classes_ = 0;
};

/// Opens a folder dataset (`FolderDataset`).
std::shared_ptr<Dataset> open_dataset(const DatasetSpec& spec);

/// Checks that every label value is in [0, num_classes) or equals `ignore_label`; the error names
/// `source`, the offending value and its position.
void check_label_values(const cv::Mat& label, int64_t num_classes, int64_t ignore_label, const std::string& source);

}  // namespace pat::data
