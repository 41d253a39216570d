#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "pat/core/error.h"
#include "pat/engine/eval/label_map_io.h"
#include "pat/engine/eval/prediction_scoring.h"
#include "test_support.h"

namespace {

using pat::engine::ConfusionMatrix;

void write_tiff16(const std::string& path, const torch::Tensor& labels) {
  auto v = labels.to(torch::kInt32).contiguous();
  cv::Mat as_int(static_cast<int>(v.size(0)), static_cast<int>(v.size(1)), CV_32S, v.data_ptr());
  cv::Mat u16;
  as_int.convertTo(u16, CV_16U);
  ASSERT_TRUE(cv::imwrite(path, u16));
}

TEST(LabelMapIo, PngRoundTrip8And16Bit) {
  pat::test::TempDir dir;
  auto small = torch::tensor({0, 4, 255, 3, 2, 1}, torch::kInt64).view({2, 3});
  pat::engine::write_label_png(dir.file("a.png"), small, 5);
  EXPECT_TRUE(torch::equal(pat::engine::read_label_map(dir.file("a.png")), small));
  EXPECT_EQ(cv::imread(dir.file("a.png"), cv::IMREAD_UNCHANGED).depth(), CV_8U);

  auto many = torch::tensor({0, 846, 65535, 300}, torch::kInt64).view({2, 2});
  pat::engine::write_label_png(dir.file("b.png"), many, 847);
  EXPECT_TRUE(torch::equal(pat::engine::read_label_map(dir.file("b.png")), many));
  EXPECT_EQ(cv::imread(dir.file("b.png"), cv::IMREAD_UNCHANGED).depth(), CV_16U);
}

TEST(LabelMapIo, Errors) {
  pat::test::TempDir dir;
  EXPECT_THROW(pat::engine::write_label_png(dir.file("c.png"), torch::full({2, 2}, 300), 5), pat::Error);
  EXPECT_THROW(pat::engine::write_label_png(dir.file("c.png"), torch::full({2, 2}, -1), 5), pat::Error);
  EXPECT_THROW(pat::engine::write_label_png(dir.file("c.png"), torch::zeros({2, 2}), 5), pat::Error);  // float
  EXPECT_THROW(pat::engine::write_label_png(dir.file("no/such/dir/c.png"), torch::zeros({2, 2}, torch::kInt64), 5),
               pat::Error);
  EXPECT_THROW(pat::engine::read_label_map(dir.file("missing.png")), pat::Error);
  cv::Mat color(4, 4, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::imwrite(dir.file("color.png"), color);
  EXPECT_THROW(pat::engine::read_label_map(dir.file("color.png")), pat::Error);
  std::ofstream(dir.file("junk.png")) << "not an image";
  EXPECT_THROW(pat::engine::read_label_map(dir.file("junk.png")), pat::Error);
}

struct Folders {
  pat::test::TempDir root;
  std::string gt, pred;
  Folders() : gt(root.file("gt")), pred(root.file("pred")) {
    std::filesystem::create_directories(gt);
    std::filesystem::create_directories(pred);
  }
};

TEST(PredictionScoring, PngFolderMatchesInMemory) {
  Folders f;
  torch::manual_seed(1);
  ConfusionMatrix expected(5, 255);
  for (int i = 0; i < 3; ++i) {
    auto gt = torch::randint(0, 5, {7 + i, 9});
    gt.masked_fill_(torch::rand({7 + i, 9}) < 0.2, 255);
    auto pred = torch::randint(0, 5, {7 + i, 9});
    const std::string name = "img_" + std::to_string(i);
    pat::engine::write_label_png(f.gt + "/" + name + ".png", gt, 5);
    pat::engine::write_label_png(f.pred + "/" + name + ".png", pred, 5);
    expected.update(pred, gt);
  }
  std::ofstream(f.gt + "/README.txt") << "not a label file";  // ignored
  pat::engine::PredictionScoringOptions o;
  std::vector<int64_t> progress;
  o.on_progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 3);
    progress.push_back(done);
  };
  auto m = pat::engine::accumulate_prediction_folder(f.pred, f.gt, 5, 255, o);
  EXPECT_TRUE(torch::equal(m.matrix(), expected.matrix()));
  EXPECT_EQ(progress, (std::vector<int64_t>{1, 2, 3}));
  auto r = pat::engine::score_prediction_folder(f.pred, f.gt, 5, 255);
  EXPECT_DOUBLE_EQ(r.miou, expected.compute().miou);
}

TEST(PredictionScoring, TiffGroundTruthWith16BitPredictions) {
  Folders f;
  torch::manual_seed(2);
  auto gt = torch::randint(0, 300, {6, 8});
  gt[0][0] = 65535;  // ADE-847-style ignore
  auto pred = torch::randint(0, 300, {6, 8});
  write_tiff16(f.gt + "/ADE_val_1.tif", gt);
  pat::engine::write_label_png(f.pred + "/ADE_val_1.png", pred, 300);
  ConfusionMatrix expected(300, 65535);
  expected.update(pred, gt);
  auto m = pat::engine::accumulate_prediction_folder(f.pred, f.gt, 300, 65535);
  EXPECT_TRUE(torch::equal(m.matrix(), expected.matrix()));
  EXPECT_EQ(m.compute().num_pixels, 47);

  // Predictions may be TIFF too.
  std::filesystem::remove(f.pred + "/ADE_val_1.png");
  write_tiff16(f.pred + "/ADE_val_1.tiff", pred);
  EXPECT_TRUE(
      torch::equal(pat::engine::accumulate_prediction_folder(f.pred, f.gt, 300, 65535).matrix(), expected.matrix()));
}

TEST(PredictionScoring, Voc20bBackgroundMapping) {
  Folders f;
  auto gt = torch::tensor({20, 3, 255, 20}, torch::kInt64).view({2, 2});
  auto pred = torch::tensor({45, 3, 7, 20}, torch::kInt64).view({2, 2});  // 45: a non-VOC PC-59 class
  pat::engine::write_label_png(f.gt + "/x.png", gt, 21);
  pat::engine::write_label_png(f.pred + "/x.png", pred, 59);
  pat::engine::PredictionScoringOptions o;
  o.background_index = 20;
  EXPECT_NEAR(pat::engine::score_prediction_folder(f.pred, f.gt, 21, 255, o).miou, 100.0, 1e-9);
  EXPECT_THROW(pat::engine::score_prediction_folder(f.pred, f.gt, 21, 255), pat::Error);  // 45 >= 21
}

TEST(PredictionScoring, Errors) {
  Folders f;
  EXPECT_THROW(pat::engine::score_prediction_folder(f.pred, f.gt, 5, 255), pat::Error);  // no GT files
  EXPECT_THROW(pat::engine::score_prediction_folder(f.pred, f.root.file("nope"), 5, 255), pat::Error);
  EXPECT_THROW(pat::engine::score_prediction_folder(f.root.file("nope"), f.gt, 5, 255), pat::Error);

  auto labels = torch::zeros({4, 5}, torch::kInt64);
  pat::engine::write_label_png(f.gt + "/present.png", labels, 5);
  pat::engine::write_label_png(f.gt + "/absent.png", labels, 5);
  pat::engine::write_label_png(f.pred + "/present.png", labels, 5);
  try {
    pat::engine::score_prediction_folder(f.pred, f.gt, 5, 255);
    FAIL() << "no error for a missing prediction";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1 of 2"), std::string::npos) << e.what();
  }
  pat::engine::write_label_png(f.pred + "/absent.png", torch::zeros({5, 4}, torch::kInt64), 5);
  try {
    pat::engine::score_prediction_folder(f.pred, f.gt, 5, 255);
    FAIL() << "no error for a size mismatch";
  } catch (const pat::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absent.png"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5x4"), std::string::npos) << e.what();
  }
  pat::engine::write_label_png(f.pred + "/absent.png", torch::full({4, 5}, 9, torch::kInt64), 10);
  EXPECT_THROW(pat::engine::score_prediction_folder(f.pred, f.gt, 5, 255), pat::Error);  // value 9 >= 5
}

}  // namespace
