#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "pat/core/error.h"
#include "pat/core/resources.h"
#include "pat/data/class_list.h"
#include "pat/data/dataset.h"
#include "pat/data/image_io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace pat::data;

namespace {

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "<no error>";
}

/// Writes an image (JPEG) and a label map with the given value pattern at `dir_img/stem.jpg` and
/// `dir_lab/stem<ext>`. The label's first row holds `values` (repeated), the rest class 0.
void write_pair(const fs::path& img_dir, const fs::path& lab_dir, const std::string& stem, const std::string& label_ext,
                const std::vector<int>& values, bool wide, int h = 6, int w = 8) {
  fs::create_directories(img_dir);
  fs::create_directories(lab_dir);
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(30, 60, 90));
  ASSERT_TRUE(cv::imwrite((img_dir / (stem + ".jpg")).string(), img));
  cv::Mat lab(h, w, CV_32SC1, cv::Scalar(0));
  for (int x = 0; x < w; ++x) lab.at<int32_t>(0, x) = values[size_t(x) % values.size()];
  write_label((lab_dir / (stem + label_ext)).string(), lab, wide ? LabelDepth::kU16 : LabelDepth::kAuto);
}

}  // namespace

TEST(ClassList, JsonAndTextFormats) {
  pat::test::TempDir dir;
  write_text(dir.file("a.json"), R"(["wall", "building, edifice", "bed "])");
  EXPECT_EQ(load_class_names(dir.file("a.json")), (std::vector<std::string>{"wall", "building, edifice", "bed "}));
  write_text(dir.file("a.txt"), "cat\r\ndog house\nsofa\n\n");
  EXPECT_EQ(load_class_names(dir.file("a.txt")), (std::vector<std::string>{"cat", "dog house", "sofa"}));
  save_class_names(dir.file("b.json"), {"x", "y \"quoted\""});
  EXPECT_EQ(load_class_names(dir.file("b.json")), (std::vector<std::string>{"x", "y \"quoted\""}));
  EXPECT_EQ(first_synonym("building, edifice"), "building");
  EXPECT_EQ(first_synonym("bed "), "bed");
}

TEST(ClassList, Errors) {
  pat::test::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {{"[\"a\", \"\"]", "entry 1 is empty"},
                                                                  {"[\"a\", \"  \"]", "entry 1 is empty"},
                                                                  {"[\"a\", \"b\", \"a\"]", "duplicates entry 0"},
                                                                  {"[]", "no class names"},
                                                                  {"[\"a\", 3]", "not a string"},
                                                                  {"[\"a\"", "invalid JSON"},
                                                                  {"a\n\nb\n", "entry 1 is empty"},
                                                                  {"a\nb\na\n", "duplicates"},
                                                                  {"", "no class names"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.file("c" + std::to_string(i) + ".txt");
    write_text(path, cases[i].first);
    const std::string m = message_of([&] { load_class_names(path); });
    EXPECT_NE(m.find(cases[i].second), std::string::npos) << cases[i].first << " -> " << m;
    EXPECT_NE(m.find(path), std::string::npos) << m;
  }
  EXPECT_THROW(load_class_names(dir.file("missing.json")), pat::Error);
}

TEST(ClassList, ReadsTheBenchmarkLists) {
  const std::vector<std::pair<std::string, size_t>> lists = {
      {"coco.json", 171},  {"ade150.json", 150}, {"ade847.json", 847}, {"pc59.json", 59},
      {"pc459.json", 459}, {"voc20.json", 20},   {"voc20b.json", 59}};
  for (const auto& [file, n] : lists) {
    const std::string path = pat::data_file("catseg/" + file);
    EXPECT_EQ(load_class_names(path).size(), n) << file;
  }
  EXPECT_EQ(load_class_names(pat::benchmark_class_file("ade150"))[7], "bed ");
}

TEST(DatasetRegistry, SpecsAndDataRoot) {
  EXPECT_EQ(builtin_dataset_names().size(), 9u);
  const DatasetSpec a = builtin_dataset_spec("ade847", "/data");
  EXPECT_EQ(a.image_dir, "ADE20K_2021_17_01/images_detectron2/validation");
  EXPECT_EQ(a.label_ext, ".tif");
  EXPECT_EQ(a.ignore_label, 65535);
  EXPECT_EQ(a.num_classes, 847);
  EXPECT_EQ(a.data_root, "/data");
  EXPECT_EQ(builtin_dataset_spec("context_459_test_sem_seg", "/d").ignore_label, 459);
  EXPECT_EQ(builtin_dataset_spec("coco-stuff-train", "/d").label_dir, "coco-stuff/annotations_detectron2/train2017");
  EXPECT_EQ(builtin_dataset_spec("voc20b", "/d").num_classes, 21);
  // Benchmarks score with the vendored CAT-Seg lists by default (third_party/catseg).
  EXPECT_EQ(builtin_dataset_spec("voc20b", "/d").class_file, pat::benchmark_class_file("voc20b"));
  EXPECT_EQ(load_class_names(builtin_dataset_spec("pc459", "/d").class_file).size(), 459u);
  EXPECT_NE(message_of([] { builtin_dataset_spec("ade151"); }).find("unknown dataset 'ade151'"), std::string::npos);

  ::setenv("PAT_DATASETS", "/from/env", 1);
  EXPECT_EQ(resolve_data_root(""), "/from/env");
  EXPECT_EQ(resolve_data_root("/cfg"), "/cfg");
  ::unsetenv("PAT_DATASETS");
  ::setenv("DETECTRON2_DATASETS", "/d2", 1);
  EXPECT_EQ(resolve_data_root(""), "/d2");
  ::unsetenv("DETECTRON2_DATASETS");
  EXPECT_EQ(resolve_data_root(""), "./datasets");
}

TEST(FolderDataset, EveryBenchmarkLayout) {
  pat::test::TempDir root;
  for (const std::string& name : builtin_dataset_names()) {
    SCOPED_TRACE(name);
    DatasetSpec spec = builtin_dataset_spec(name, root.path());
    const fs::path img = fs::path(root.path()) / spec.image_dir, lab = fs::path(root.path()) / spec.label_dir;
    const bool wide = spec.label_ext == ".tif";
    const int last = int(spec.num_classes - 1);
    write_pair(img, lab, "b_img", spec.label_ext, {0, last, int(spec.ignore_label)}, wide);
    write_pair(img, lab, "a_img", spec.label_ext, {1}, wide);
    write_pair(img, fs::path(root.path()) / "unused", "c_no_label", spec.label_ext, {0}, wide);  // image without label
    // No class file in the dataset folder: the vendored CAT-Seg list is used.
    FolderDataset ds(spec);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds.num_classes(), spec.num_classes);
    EXPECT_EQ(ds.ignore_label(), spec.ignore_label);
    EXPECT_EQ(ds.class_names().size(), name == "voc20b" ? 59u : size_t(spec.num_classes));
    const Sample s = ds.get(1);  // sorted by basename: a_img, b_img
    EXPECT_EQ(s.name, "b_img");
    EXPECT_EQ(s.image.type(), CV_8UC3);
    EXPECT_EQ(s.label.at<int32_t>(0, 1), last);
    EXPECT_EQ(s.label.at<int32_t>(0, 2), spec.ignore_label);
    EXPECT_EQ(s.ignore_label, spec.ignore_label);
    EXPECT_EQ(s.original_height, 6);
    EXPECT_EQ(ds.validate(), 2u);
  }
}

TEST(FolderDataset, GenericLayoutAndClassFileFallback) {
  pat::test::TempDir root;
  const fs::path r(root.path());
  write_pair(r / "images", r / "labels", "x", ".png", {0, 2}, false);
  cv::imwrite((r / "images" / "y.png").string(), cv::Mat(6, 8, CV_8UC3, cv::Scalar::all(9)));  // any image type
  write_label((r / "labels" / "y.png").string(), cv::Mat(6, 8, CV_32SC1, cv::Scalar(1)));
  write_text((r / "classes.json").string(), R"(["sky", "grass", "red circle"])");
  FolderDataset ds(generic_dataset_spec(root.path()));
  EXPECT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.num_classes(), 3);
  EXPECT_EQ(ds.get(1).name, "y");
  // No class file: fine when num_classes is known, an error otherwise.
  DatasetSpec spec = generic_dataset_spec(root.path());
  spec.class_file = "nope.json";
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("not found and num_classes is not set"), std::string::npos);
  spec.num_classes = 3;
  FolderDataset without(spec);
  EXPECT_TRUE(without.class_names().empty());
  EXPECT_EQ(without.size(), 2u);
}

TEST(FolderDataset, Errors) {
  pat::test::TempDir root;
  const fs::path r(root.path());
  DatasetSpec spec = generic_dataset_spec(root.path());
  spec.num_classes = 3;
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("image folder " + (r / "images").string() + ": not found"),
            std::string::npos);
  fs::create_directories(r / "images");
  fs::create_directories(r / "labels");
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("no image/label pairs"), std::string::npos);

  write_pair(r / "images", r / "labels", "ok", ".png", {0, 1}, false);
  write_pair(r / "images", r / "labels", "range", ".png", {0, 7}, false);
  write_pair(r / "images", r / "labels", "size", ".png", {0}, false);
  write_label((r / "labels" / "size.png").string(), cv::Mat(5, 8, CV_32SC1, cv::Scalar(0)));
  std::ofstream((r / "images" / "zbroken.jpg").string()) << "garbage";
  write_label((r / "labels" / "zbroken.png").string(), cv::Mat(6, 8, CV_32SC1, cv::Scalar(0)));
  FolderDataset ds(spec);
  ASSERT_EQ(ds.size(), 4u);  // ok, range, size, zbroken
  EXPECT_NO_THROW(ds.get(0));
  const std::string range = message_of([&] { ds.get(1); });
  EXPECT_NE(range.find((r / "labels" / "range.png").string()), std::string::npos) << range;
  EXPECT_NE(range.find("value 7"), std::string::npos) << range;
  EXPECT_NE(message_of([&] { ds.validate(); }).find("value 7"), std::string::npos);
  const std::string size = message_of([&] { ds.get(2); });
  EXPECT_NE(size.find("is 8x6 but label map"), std::string::npos) << size;
  const std::string broken = message_of([&] { ds.get(3); });
  EXPECT_NE(broken.find("zbroken.jpg"), std::string::npos) << broken;
  EXPECT_THROW(ds.get(4), pat::Error);

  spec.ignore_label = 2;  // collides with a class id
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("collides"), std::string::npos);
  spec.ignore_label = 255;
  cv::imwrite((r / "images" / "ok.png").string(), cv::Mat(6, 8, CV_8UC3));
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("share the basename 'ok'"), std::string::npos);
  spec.num_classes = 0;
  spec.class_file = (r / "short.json").string();
  write_text(spec.class_file, R"(["only"])");
  spec.num_classes = 3;
  EXPECT_NE(message_of([&] { FolderDataset d(spec); }).find("has 1 names but labels use 3"), std::string::npos);
}
