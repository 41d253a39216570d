#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "pat/core/error.h"
#include "pat/core/resources.h"
#include "pat/data/class_list.h"
#include "pat/data/dataset.h"
#include "pat/data/image_io.h"
#include "pat/data/prepare.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace pat::data;

namespace {

/// A 1-row uint8 label map holding `values`.
void write_raw(const fs::path& path, const std::vector<int>& values) {
  fs::create_directories(path.parent_path());
  cv::Mat m(1, int(values.size()), CV_8UC1);
  for (size_t i = 0; i < values.size(); ++i) m.at<uint8_t>(0, int(i)) = uint8_t(values[i]);
  ASSERT_TRUE(cv::imwrite(path.string(), m));
}

void write_jpg(const fs::path& path, int w) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(cv::imwrite(path.string(), cv::Mat(1, w, CV_8UC3, cv::Scalar::all(90))));
}

std::vector<int> values_of(const fs::path& path) {
  const cv::Mat m = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(m.type(), CV_8UC1) << path;
  std::vector<int> v;
  for (int x = 0; x < m.cols; ++x) v.push_back(m.at<uint8_t>(0, x));
  return v;
}

void expect_no_temporaries(const fs::path& root) {
  for (const auto& e : fs::recursive_directory_iterator(root))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace

TEST(Prepare, CocoStuffIdTable) {
  const LabelLut lut = coco_stuff_lut();
  EXPECT_EQ(lut[0], 0);    // person
  EXPECT_EQ(lut[10], 10);  // fire hydrant
  for (int gap : {11, 25, 28, 29, 44, 65, 67, 68, 70, 82}) EXPECT_EQ(lut[size_t(gap)], 255) << gap;
  EXPECT_EQ(lut[12], 11);    // stop sign
  EXPECT_EQ(lut[26], 24);    // backpack
  EXPECT_EQ(lut[30], 26);    // skis... (after the 28/29 gap)
  EXPECT_EQ(lut[89], 79);    // toothbrush
  EXPECT_EQ(lut[90], 255);   // no COCO id 91
  EXPECT_EQ(lut[91], 80);    // banner
  EXPECT_EQ(lut[181], 170);  // wood
  EXPECT_EQ(lut[182], 255);  // "other"
  EXPECT_EQ(lut[255], 255);
  int mapped = 0, last = -1;
  for (int v = 0; v < 256; ++v)
    if (lut[size_t(v)] != 255) {
      ++mapped;
      EXPECT_EQ(lut[size_t(v)], last + 1);  // contiguous and increasing
      last = lut[size_t(v)];
    }
  EXPECT_EQ(mapped, 171);
  const auto names = load_class_names(pat::benchmark_class_file("coco"));
  EXPECT_EQ(names[size_t(lut[12])], "stop sign");
  EXPECT_EQ(names[size_t(lut[89])], "toothbrush");
  EXPECT_EQ(names[size_t(lut[91])], "banner");
  EXPECT_EQ(names[size_t(lut[181])], "wood");
}

TEST(Prepare, AdeAndVocTables) {
  const LabelLut ade = ade150_lut();
  EXPECT_EQ(ade[0], 255);
  EXPECT_EQ(ade[1], 0);
  EXPECT_EQ(ade[150], 149);
  const LabelLut v = voc_lut(false), vb = voc_lut(true);
  EXPECT_EQ(v[0], 255);
  EXPECT_EQ(vb[0], 20);
  EXPECT_EQ(v[1], 0);
  EXPECT_EQ(vb[20], 19);
  EXPECT_EQ(v[21], 255);
  EXPECT_EQ(vb[255], 255);
  cv::Mat wide(1, 1, CV_32SC1, cv::Scalar(300));
  EXPECT_THROW(apply_lut(wide, ade, "x.png"), pat::Error);
}

TEST(Prepare, CocoStuffFromAFakeDownload) {
  pat::test::TempDir raw, out;
  const fs::path r(raw.path());
  write_jpg(r / "images" / "val2017" / "000000000139.jpg", 7);
  write_raw(r / "stuffthingmaps_trainval2017" / "val2017" / "000000000139.png", {0, 11, 12, 90, 91, 181, 182});
  write_jpg(r / "images" / "train2017" / "000000000009.jpg", 2);
  write_raw(r / "stuffthingmaps_trainval2017" / "train2017" / "000000000009.png", {255, 255});
  PrepareOptions o;
  o.source = raw.path();
  o.data_root = out.path();
  o.num_threads = 2;
  size_t calls = 0;
  o.progress = [&](size_t done, size_t total) {
    ++calls;
    EXPECT_LE(done, total);
  };
  const PrepareReport rep = prepare_dataset("coco-stuff", o);
  EXPECT_EQ(rep.converted, 2u);
  EXPECT_EQ(calls, 2u);
  const fs::path val = fs::path(out.path()) / "coco-stuff/annotations_detectron2/val2017/000000000139.png";
  EXPECT_EQ(values_of(val), (std::vector<int>{0, 255, 11, 255, 80, 170, 255}));
  EXPECT_EQ(values_of(fs::path(out.path()) / "coco-stuff/annotations_detectron2/train2017/000000000009.png"),
            (std::vector<int>{255, 255}));  // all-unlabelled COCO masks are kept (as the official script)
  // The prepared layout opens as the registry dataset (no class file: names empty, 171 classes).
  FolderDataset ds(builtin_dataset_spec("coco_stuff_val", out.path()));
  EXPECT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds.get(0).label.at<int32_t>(0, 4), 80);
  // Resume: nothing is redone.
  const PrepareReport again = prepare_dataset("coco-stuff", o);
  EXPECT_EQ(again.converted, 0u);
  EXPECT_EQ(again.skipped_existing, 2u);
  expect_no_temporaries(out.path());
}

TEST(Prepare, Ade150FromAFakeDownload) {
  pat::test::TempDir raw, out;
  const fs::path a = fs::path(raw.path()) / "ADEChallengeData2016";
  write_jpg(a / "images" / "validation" / "ADE_val_00000001.jpg", 4);
  write_raw(a / "annotations" / "validation" / "ADE_val_00000001.png", {0, 1, 2, 150});
  std::ofstream csv((a / "objectInfo150.csv").string());
  csv << "Idx,Ratio,Train,Val,Name\n";
  for (int i = 1; i <= 150; ++i)
    csv << i << ",0.01,10,1," << (i == 2 ? "building;edifice" : "c" + std::to_string(i)) << "\n";
  csv.close();
  PrepareOptions o;
  o.source = raw.path();  // the folder containing ADEChallengeData2016
  o.data_root = out.path();
  o.link_images = false;  // copy
  const PrepareReport rep = prepare_dataset("ade150", o);
  EXPECT_EQ(rep.converted, 1u);
  EXPECT_EQ(rep.images_copied, 1u);
  const fs::path p = fs::path(out.path()) / "ADEChallengeData2016";
  EXPECT_EQ(values_of(p / "annotations_detectron2/validation/ADE_val_00000001.png"),
            (std::vector<int>{255, 0, 1, 149}));
  EXPECT_TRUE(fs::is_regular_file(p / "images/validation/ADE_val_00000001.jpg"));
  const auto names = load_class_names((fs::path(out.path()) / "ade150.json").string());
  ASSERT_EQ(names.size(), 150u);
  EXPECT_EQ(names[1], "building, edifice");
  // The benchmark itself scores with CAT-Seg's vendored list (its spellings define the published numbers);
  // the list written from objectInfo150 is there for --class-file.
  FolderDataset ds(builtin_dataset_spec("ade150", out.path()));
  EXPECT_EQ(ds.class_names()[1], "building");
  EXPECT_EQ(ds.class_names()[7], "bed ");
  expect_no_temporaries(out.path());
}

TEST(Prepare, VocBothVariantsSkipEmptyMasks) {
  pat::test::TempDir raw, out;
  const fs::path v = fs::path(raw.path()) / "VOCdevkit" / "VOC2012";
  for (const char* id : {"2007_000033", "2007_000042", "2007_000061"})
    write_jpg(v / "JPEGImages" / (std::string(id) + ".jpg"), 4);
  write_jpg(v / "JPEGImages" / "2008_000001.jpg", 4);  // not in val.txt
  fs::create_directories(v / "ImageSets" / "Segmentation");
  std::ofstream(v / "ImageSets" / "Segmentation" / "val.txt") << "2007_000033\n2007_000042\n2007_000061\n";
  write_raw(v / "SegmentationClassAug" / "2007_000033.png", {0, 1, 20, 255});
  write_raw(v / "SegmentationClassAug" / "2007_000042.png", {0, 0, 255, 255});  // background only
  write_raw(v / "SegmentationClassAug" / "2007_000061.png", {255, 255, 255, 255});
  PrepareOptions o;
  o.source = raw.path();
  o.data_root = out.path();
  const PrepareReport rep = prepare_dataset("voc", o);
  EXPECT_EQ(rep.converted, 3u);
  EXPECT_EQ(rep.skipped_empty, 3u);
  const fs::path p = fs::path(out.path()) / "VOCdevkit/VOC2012";
  EXPECT_EQ(values_of(p / "annotations_detectron2/val/2007_000033.png"), (std::vector<int>{255, 0, 19, 255}));
  EXPECT_EQ(values_of(p / "annotations_detectron2_bg/val/2007_000033.png"), (std::vector<int>{20, 0, 19, 255}));
  EXPECT_FALSE(fs::exists(p / "annotations_detectron2/val/2007_000042.png"));
  EXPECT_EQ(values_of(p / "annotations_detectron2_bg/val/2007_000042.png"), (std::vector<int>{20, 20, 255, 255}));
  EXPECT_FALSE(fs::exists(p / "annotations_detectron2_bg/val/2007_000061.png"));
  EXPECT_TRUE(fs::is_symlink(p / "JPEGImages"));
  FolderDataset voc20(builtin_dataset_spec("voc20", out.path()));
  EXPECT_EQ(voc20.size(), 1u);  // JPEGImages reduced to the labelled val images
  FolderDataset voc20b(builtin_dataset_spec("voc20b", out.path()));
  EXPECT_EQ(voc20b.size(), 2u);
  expect_no_temporaries(out.path());
}

TEST(Prepare, Errors) {
  pat::test::TempDir raw, out;
  PrepareOptions o;
  o.source = raw.path();
  o.data_root = out.path();
  EXPECT_THROW(prepare_dataset("cityscapes", o), pat::Error);
  EXPECT_THROW(prepare_dataset("voc", o), pat::Error);         // no val.txt
  EXPECT_THROW(prepare_dataset("coco-stuff", o), pat::Error);  // no label maps
  EXPECT_THROW(prepare_dataset("ade150", o), pat::Error);
  o.source = raw.file("nope");
  EXPECT_THROW(prepare_dataset("voc", o), pat::Error);
  // A corrupt raw label map names the file.
  o.source = raw.path();
  write_jpg(fs::path(raw.path()) / "images/val2017/x.jpg", 2);
  fs::create_directories(fs::path(raw.path()) / "annotations/val2017");
  std::ofstream((fs::path(raw.path()) / "annotations/val2017/x.png").string()) << "not a png";
  try {
    prepare_dataset("coco-stuff", o);
    ADD_FAILURE() << "no error";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.png"), std::string::npos) << e.what();
  }
}
