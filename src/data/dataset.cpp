#include "pat/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/resources.h"
#include "pat/data/class_list.h"
#include "pat/data/image_io.h"

namespace fs = std::filesystem;

namespace pat::data {
namespace {

struct Builtin {
  const char* name;
  const char* alias;  // detectron2 registration name
  const char* image_dir;
  const char* label_dir;
  const char* label_ext;
  int64_t ignore_label;
  const char* class_list;  // vendored CAT-Seg list (pat/core/resources.h)
  int64_t num_classes;
};

// CATSEG.md §3.
const Builtin kBuiltins[] = {
    {"coco_stuff_train", "coco_2017_train_stuff_all_sem_seg", "coco-stuff/images/train2017",
     "coco-stuff/annotations_detectron2/train2017", ".png", 255, "coco", 171},
    {"coco_stuff_val", "coco_2017_test_stuff_all_sem_seg", "coco-stuff/images/val2017",
     "coco-stuff/annotations_detectron2/val2017", ".png", 255, "coco", 171},
    {"ade150_train", "ade20k_150_train_sem_seg", "ADEChallengeData2016/images/training",
     "ADEChallengeData2016/annotations_detectron2/training", ".png", 255, "ade150", 150},
    {"ade150", "ade20k_150_test_sem_seg", "ADEChallengeData2016/images/validation",
     "ADEChallengeData2016/annotations_detectron2/validation", ".png", 255, "ade150", 150},
    {"ade847", "ade20k_full_sem_seg_freq_val_all", "ADE20K_2021_17_01/images_detectron2/validation",
     "ADE20K_2021_17_01/annotations_detectron2/validation", ".tif", 65535, "ade847", 847},
    {"pc59", "context_59_test_sem_seg", "VOCdevkit/VOC2010/JPEGImages",
     "VOCdevkit/VOC2010/annotations_detectron2/pc59_val", ".png", 255, "pc59", 59},
    {"pc459", "context_459_test_sem_seg", "VOCdevkit/VOC2010/JPEGImages",
     "VOCdevkit/VOC2010/annotations_detectron2/pc459_val", ".tif", 459, "pc459", 459},
    {"voc20", "voc_2012_test_sem_seg", "VOCdevkit/VOC2012/JPEGImages", "VOCdevkit/VOC2012/annotations_detectron2/val",
     ".png", 255, "voc20", 20},
    {"voc20b", "voc_2012_test_background_sem_seg", "VOCdevkit/VOC2012/JPEGImages",
     "VOCdevkit/VOC2012/annotations_detectron2_bg/val", ".png", 255, "voc20b", 21},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string join_root(const std::string& root, const std::string& path) {
  if (path.empty()) return path;
  fs::path p(path);
  return p.is_absolute() ? p.string() : (fs::path(root) / p).string();
}

/// basename -> path for the files of `dir` whose extension matches (`ext` empty: any image).
std::map<std::string, std::string> list_files(const std::string& dir, const std::string& ext, const char* what) {
  PAT_CHECK(fs::exists(dir), what, " folder ", dir, ": not found");
  PAT_CHECK(fs::is_directory(dir), what, " folder ", dir, ": not a directory");
  std::map<std::string, std::string> out;
  const std::string want = lower(ext);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;  // follows symlinks
    const fs::path& p = it->path();
    const std::string e = lower(p.extension().string());
    if (want.empty() ? !is_image_extension(e) : e != want) continue;
    const std::string stem = p.stem().string();
    auto [pos, inserted] = out.emplace(stem, p.string());
    PAT_CHECK(inserted, what, " folder ", dir, ": two files share the basename '", stem, "' (", pos->second, ", ",
              p.string(), ")");
  }
  PAT_CHECK(!ec, what, " folder ", dir, ": cannot list (", ec.message(), ")");
  return out;
}

}  // namespace

std::string resolve_data_root(const std::string& configured) {
  if (!configured.empty()) return configured;
  for (const char* var : {"PAT_DATASETS", "DETECTRON2_DATASETS"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  return "./datasets";
}

std::vector<std::string> builtin_dataset_names() {
  std::vector<std::string> names;
  for (const auto& b : kBuiltins) names.emplace_back(b.name);
  return names;
}

DatasetSpec builtin_dataset_spec(const std::string& requested, const std::string& data_root) {
  std::string name = requested;  // "coco-stuff-train" == "coco_stuff_train"
  std::replace(name.begin(), name.end(), '-', '_');
  for (const auto& b : kBuiltins) {
    if (name != b.name && name != b.alias) continue;
    DatasetSpec s;
    s.name = b.name;
    s.data_root = resolve_data_root(data_root);
    s.image_dir = b.image_dir;
    s.label_dir = b.label_dir;
    s.image_ext = ".jpg";
    s.label_ext = b.label_ext;
    s.ignore_label = b.ignore_label;
    // The vendored CAT-Seg list (third_party/catseg) defines the published numbers; --class-file replaces it.
    s.class_file = benchmark_class_file(b.class_list);
    s.num_classes = b.num_classes;
    return s;
  }
  std::string known;
  for (const auto& b : kBuiltins) known += std::string(known.empty() ? "" : ", ") + b.name;
  PAT_FAIL("unknown dataset '", requested, "' (known: ", known, "; use a generic dataset for custom data)");
}

DatasetSpec generic_dataset_spec(const std::string& root, const std::string& name) {
  DatasetSpec s;
  s.name = name;
  s.data_root = root;
  s.image_dir = "images";
  s.label_dir = "labels";
  s.image_ext = "";
  s.label_ext = ".png";
  s.ignore_label = 255;
  s.class_file = "classes.json";
  return s;
}

void check_label_values(const cv::Mat& label, int64_t num_classes, int64_t ignore_label, const std::string& source) {
  PAT_ASSERT(label.type() == CV_32SC1);
  for (int y = 0; y < label.rows; ++y) {
    const int32_t* row = label.ptr<int32_t>(y);
    for (int x = 0; x < label.cols; ++x) {
      const int64_t v = row[x];
      if ((v < 0 || v >= num_classes) && v != ignore_label) {
        PAT_FAIL("label map ", source, ": value ", v, " at (x=", x, ", y=", y, ") is outside [0, ", num_classes,
                 ") and is not the ignore value ", ignore_label);
      }
    }
  }
}

FolderDataset::FolderDataset(DatasetSpec spec) : spec_(std::move(spec)) {
  spec_.data_root = resolve_data_root(spec_.data_root);
  PAT_CHECK(!spec_.image_dir.empty() && !spec_.label_dir.empty(), "dataset ", spec_.name,
            ": image_dir and label_dir must be set");
  PAT_CHECK(!spec_.label_ext.empty(), "dataset ", spec_.name, ": label_ext must be set");
  spec_.image_dir = join_root(spec_.data_root, spec_.image_dir);
  spec_.label_dir = join_root(spec_.data_root, spec_.label_dir);
  spec_.class_file = join_root(spec_.data_root, spec_.class_file);

  if (!spec_.class_file.empty() && fs::exists(spec_.class_file)) {
    class_names_ = load_class_names(spec_.class_file);
  } else {
    PAT_CHECK(spec_.num_classes > 0, "dataset ", spec_.name, ": class file ",
              spec_.class_file.empty() ? std::string("(none)") : spec_.class_file,
              " not found and num_classes is not set");
    if (!spec_.class_file.empty())
      PAT_LOG_WARN("dataset {}: class file {} not found; continuing without class names", spec_.name, spec_.class_file);
  }
  num_classes_ = spec_.num_classes > 0 ? spec_.num_classes : int64_t(class_names_.size());
  PAT_CHECK(class_names_.empty() || int64_t(class_names_.size()) >= num_classes_, "dataset ", spec_.name,
            ": class file ", spec_.class_file, " has ", class_names_.size(), " names but labels use ", num_classes_,
            " classes");
  PAT_CHECK(spec_.ignore_label < 0 || spec_.ignore_label >= num_classes_, "dataset ", spec_.name, ": ignore_label ",
            spec_.ignore_label, " collides with a class id (num_classes ", num_classes_, ")");

  const auto images = list_files(spec_.image_dir, spec_.image_ext, "image");
  const auto labels = list_files(spec_.label_dir, spec_.label_ext, "label");
  for (const auto& [stem, label_path] : labels) {
    auto it = images.find(stem);
    if (it == images.end()) continue;
    names_.push_back(stem);
    image_paths_.push_back(it->second);
    label_paths_.push_back(label_path);
  }
  PAT_CHECK(!names_.empty(), "dataset ", spec_.name, ": no image/label pairs (", images.size(), " images ",
            spec_.image_ext.empty() ? std::string("of any image type") : "*" + spec_.image_ext, " in ", spec_.image_dir,
            ", ", labels.size(), " labels *", spec_.label_ext, " in ", spec_.label_dir, ", matched by basename)");
  if (labels.size() > names_.size())
    PAT_LOG_WARN("dataset {}: {} label maps have no image and are skipped", spec_.name, labels.size() - names_.size());
  if (images.size() > names_.size())
    PAT_LOG_DEBUG("dataset {}: {} images have no label and are skipped", spec_.name, images.size() - names_.size());
  PAT_LOG_INFO("dataset {}: {} samples, {} classes", spec_.name, names_.size(), num_classes_);
}

Sample FolderDataset::get(size_t index) const {
  PAT_CHECK(index < names_.size(), "dataset ", spec_.name, ": index ", index, " out of range (size ", names_.size(),
            ")");
  Sample s;
  s.index = int64_t(index);
  s.name = names_[index];
  s.image_path = image_paths_[index];
  s.label_path = label_paths_[index];
  s.ignore_label = spec_.ignore_label;
  s.image = read_image(s.image_path);
  s.label = read_label(s.label_path);
  PAT_CHECK(s.image.size() == s.label.size(), "dataset ", spec_.name, ": image ", s.image_path, " is ", s.image.cols,
            "x", s.image.rows, " but label map ", s.label_path, " is ", s.label.cols, "x", s.label.rows);
  if (spec_.check_labels) check_label_values(s.label, num_classes_, spec_.ignore_label, s.label_path);
  s.original_height = s.image.rows;
  s.original_width = s.image.cols;
  return s;
}

size_t FolderDataset::validate() const {
  for (size_t i = 0; i < size(); ++i) {
    const cv::Mat label = read_label(label_paths_[i]);
    check_label_values(label, num_classes_, spec_.ignore_label, label_paths_[i]);
  }
  return size();
}

std::shared_ptr<Dataset> open_dataset(const DatasetSpec& spec) {
  return std::make_shared<FolderDataset>(spec);
}

}  // namespace pat::data
