#include <zlib.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/data/image_io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace pat::data;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A BGR test pattern with distinct channels.
cv::Mat pattern_bgr(int h, int w) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(10 + x * 3), uint8_t(20 + y * 5), uint8_t(200));
  return m;
}

void expect_rgb_of(const cv::Mat& rgb, const cv::Mat& bgr, int tol) {
  ASSERT_EQ(rgb.type(), CV_8UC3);
  ASSERT_EQ(rgb.size(), bgr.size());
  cv::Mat expected;
  cv::cvtColor(bgr, expected, cv::COLOR_BGR2RGB);
  cv::Mat diff;
  cv::absdiff(rgb, expected, diff);
  double mx = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &mx);
  EXPECT_LE(mx, tol);
}

/// Expects a pat::Error whose one-line message names `path` and contains `fragment`.
template <typename F>
void expect_error(F&& f, const std::string& path, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error for " << path;
  } catch (const pat::Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find(fragment), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xFF));
}

void chunk(std::string& png, const std::string& type, const std::string& data) {
  put32(png, uint32_t(data.size()));
  std::string td = type + data;
  png += td;
  put32(png, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
}

/// An 8-bit palette PNG written by hand (OpenCV cannot write one).
std::string palette_png(const cv::Mat& indices, const std::vector<cv::Vec3b>& palette_rgb) {
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put32(ihdr, uint32_t(indices.cols));
  put32(ihdr, uint32_t(indices.rows));
  ihdr += std::string("\x08\x03\x00\x00\x00", 5);
  chunk(png, "IHDR", ihdr);
  std::string plte;
  for (const auto& c : palette_rgb) plte += std::string{char(c[0]), char(c[1]), char(c[2])};
  chunk(png, "PLTE", plte);
  std::string raw;
  for (int y = 0; y < indices.rows; ++y) {
    raw.push_back(char(y % 2 ? 1 : 0));  // mix "none" and "sub" filters
    for (int x = 0; x < indices.cols; ++x) {
      const uint8_t v = indices.at<uint8_t>(y, x), left = x ? indices.at<uint8_t>(y, x - 1) : 0;
      raw.push_back(char(y % 2 ? uint8_t(v - left) : v));
    }
  }
  uLongf len = compressBound(uLong(raw.size()));
  std::string z(len, '\0');
  compress(reinterpret_cast<Bytef*>(&z[0]), &len, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()));
  z.resize(len);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

/// Inserts an EXIF APP1 segment with the given orientation after the JPEG SOI marker.
std::string with_exif_orientation(const std::string& jpeg, uint16_t orientation) {
  std::string tiff("II*\0\x08\0\0\0", 8);
  tiff += std::string("\x01\x00", 2);                          // one IFD entry
  tiff += std::string("\x12\x01\x03\x00\x01\x00\x00\x00", 8);  // tag 0x0112, SHORT, count 1
  tiff += std::string{char(orientation & 0xFF), char(orientation >> 8), 0, 0};
  tiff += std::string(4, '\0');  // no next IFD
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const size_t len = payload.size() + 2;
  std::string app1 = "\xFF\xE1";
  app1 += char(len >> 8);
  app1 += char(len & 0xFF);
  app1 += payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

}  // namespace

TEST(ImageIo, ReadsCommonFormatsAsRgb) {
  pat::test::TempDir dir;
  const cv::Mat bgr = pattern_bgr(12, 17);
  struct Case {
    const char* name;
    std::vector<int> params;
    int tol;
  };
  for (const Case& c : {Case{"a.png", {}, 0}, Case{"a.bmp", {}, 0}, Case{"a.tif", {}, 0},
                        Case{"a.webp", {cv::IMWRITE_WEBP_QUALITY, 101}, 0},
                        Case{"a.jpg", {cv::IMWRITE_JPEG_QUALITY, 100}, 6}, Case{"a.ppm", {}, 0}}) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(cv::imwrite(dir.file(c.name), bgr, c.params));
    expect_rgb_of(read_image(dir.file(c.name)), bgr, c.tol);
  }
}

TEST(ImageIo, SixteenBitIsScaledAndGreyAlphaAreHandled) {
  pat::test::TempDir dir;
  const cv::Mat bgr = pattern_bgr(5, 6);
  cv::Mat wide;
  bgr.convertTo(wide, CV_16UC3, 257.0);
  for (const char* name : {"w.tif", "w.png"}) {
    ASSERT_TRUE(cv::imwrite(dir.file(name), wide));
    expect_rgb_of(read_image(dir.file(name)), bgr, 0);
  }
  cv::Mat grey(4, 5, CV_8UC1, cv::Scalar(77));
  grey.at<uint8_t>(1, 2) = 200;
  ASSERT_TRUE(cv::imwrite(dir.file("g.png"), grey));
  const cv::Mat g = read_image(dir.file("g.png"));
  EXPECT_EQ(g.at<cv::Vec3b>(0, 0), cv::Vec3b(77, 77, 77));
  EXPECT_EQ(g.at<cv::Vec3b>(1, 2), cv::Vec3b(200, 200, 200));
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 0; });  // fully transparent: alpha is dropped
  ASSERT_TRUE(cv::imwrite(dir.file("alpha.png"), bgra));
  expect_rgb_of(read_image(dir.file("alpha.png")), bgr, 0);
}

TEST(ImageIo, PalettePngGivesColoursAsImageAndIndicesAsLabel) {
  pat::test::TempDir dir;
  cv::Mat idx(3, 5, CV_8UC1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) idx.at<uint8_t>(y, x) = uint8_t((x + 2 * y) % 4);
  std::vector<cv::Vec3b> pal = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}, {10, 20, 30}};
  write_bytes(dir.file("p.png"), palette_png(idx, pal));
  const cv::Mat rgb = read_image(dir.file("p.png"));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 3), pal[3]);
  EXPECT_EQ(rgb.at<cv::Vec3b>(1, 0), pal[2]);
  const cv::Mat lab = read_label(dir.file("p.png"));
  ASSERT_EQ(lab.type(), CV_32SC1);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(lab.at<int32_t>(y, x), idx.at<uint8_t>(y, x));
}

TEST(ImageIo, AppliesExifOrientation) {
  pat::test::TempDir dir;
  std::vector<uchar> enc;
  ASSERT_TRUE(cv::imencode(".jpg", pattern_bgr(8, 16), enc));
  const std::string jpeg(enc.begin(), enc.end());
  write_bytes(dir.file("r.jpg"), with_exif_orientation(jpeg, 6));  // rotate 90° clockwise
  const cv::Mat m = read_image(dir.file("r.jpg"));
  EXPECT_EQ(m.rows, 16);
  EXPECT_EQ(m.cols, 8);
  write_bytes(dir.file("n.jpg"), with_exif_orientation(jpeg, 1));
  EXPECT_EQ(read_image(dir.file("n.jpg")).rows, 8);
}

TEST(ImageIo, ClearErrorsNameTheFile) {
  pat::test::TempDir dir;
  expect_error([&] { read_image(dir.file("missing.jpg")); }, dir.file("missing.jpg"), "no such file");
  expect_error([&] { read_image(dir.path()); }, dir.path(), "directory");
  write_bytes(dir.file("empty.png"), "");
  expect_error([&] { read_image(dir.file("empty.png")); }, dir.file("empty.png"), "empty file");
  write_bytes(dir.file("text.jpg"), "hello, this is not an image\n");
  expect_error([&] { read_image(dir.file("text.jpg")); }, dir.file("text.jpg"), "not an image");
  write_bytes(dir.file("anim.gif"), std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13));
  expect_error([&] { read_image(dir.file("anim.gif")); }, dir.file("anim.gif"), "unsupported image format GIF");

  std::vector<uchar> enc;
  ASSERT_TRUE(cv::imencode(".jpg", pattern_bgr(32, 32), enc));
  write_bytes(dir.file("cut.jpg"), std::string(enc.begin(), enc.begin() + long(enc.size() * 2 / 3)));
  expect_error([&] { read_image(dir.file("cut.jpg")); }, dir.file("cut.jpg"), "truncated JPEG");
  ASSERT_TRUE(cv::imencode(".png", pattern_bgr(32, 32), enc));
  write_bytes(dir.file("cut.png"), std::string(enc.begin(), enc.begin() + long(enc.size() / 2)));
  expect_error([&] { read_image(dir.file("cut.png")); }, dir.file("cut.png"), "truncated PNG");
  expect_error([&] { read_label(dir.file("cut.png")); }, dir.file("cut.png"), "truncated PNG");
  // A PNG with a complete chunk structure but garbage pixel data.
  std::string png(enc.begin(), enc.end());
  const size_t idat = png.find("IDAT");
  for (size_t i = idat + 4; i < idat + 40; ++i) png[i] = char(0x55);
  write_bytes(dir.file("bad.png"), png);
  expect_error([&] { read_image(dir.file("bad.png")); }, dir.file("bad.png"), "cannot decode PNG");
}

TEST(ImageIo, LabelMapsKeepValues) {
  pat::test::TempDir dir;
  cv::Mat l8(3, 4, CV_8UC1);
  for (int i = 0; i < 12; ++i) l8.at<uint8_t>(i / 4, i % 4) = uint8_t(i * 20 + 15);
  ASSERT_TRUE(cv::imwrite(dir.file("l8.png"), l8));
  cv::Mat l16(3, 4, CV_16UC1);
  for (int i = 0; i < 12; ++i) l16.at<uint16_t>(i / 4, i % 4) = uint16_t(i * 400);
  l16.at<uint16_t>(2, 3) = 65535;
  ASSERT_TRUE(cv::imwrite(dir.file("l16.png"), l16));
  ASSERT_TRUE(cv::imwrite(dir.file("l16.tif"), l16));
  const cv::Mat a = read_label(dir.file("l8.png"));
  EXPECT_EQ(a.type(), CV_32SC1);
  EXPECT_EQ(a.at<int32_t>(2, 3), 235);
  for (const char* f : {"l16.png", "l16.tif"}) {
    const cv::Mat b = read_label(dir.file(f));
    EXPECT_EQ(b.at<int32_t>(1, 1), 2000) << f;
    EXPECT_EQ(b.at<int32_t>(2, 3), 65535) << f;
  }
  ASSERT_TRUE(cv::imwrite(dir.file("rgb.png"), pattern_bgr(3, 3)));
  expect_error([&] { read_label(dir.file("rgb.png")); }, dir.file("rgb.png"), "single-channel");
  cv::Mat f32(3, 3, CV_32FC1, cv::Scalar(1.5f));
  ASSERT_TRUE(cv::imwrite(dir.file("f.tif"), f32));
  expect_error([&] { read_label(dir.file("f.tif")); }, dir.file("f.tif"), "floating-point");
  expect_error([&] { read_label(dir.file("none.png")); }, dir.file("none.png"), "no such file");
}

TEST(ImageIo, WritesLabelMapsAtomicallyWithTheRightDepth) {
  pat::test::TempDir dir;
  cv::Mat small(4, 4, CV_32SC1, cv::Scalar(7));
  small.at<int32_t>(0, 0) = 255;
  write_label(dir.file("s.png"), small);
  EXPECT_EQ(cv::imread(dir.file("s.png"), cv::IMREAD_UNCHANGED).depth(), CV_8U);
  cv::Mat big = small.clone();
  big.at<int32_t>(1, 1) = 846;
  big.at<int32_t>(2, 2) = 65535;
  for (const char* f : {"b.png", "b.tif"}) {
    write_label(dir.file(f), big);
    EXPECT_EQ(cv::imread(dir.file(f), cv::IMREAD_UNCHANGED).depth(), CV_16U) << f;
    const cv::Mat back = read_label(dir.file(f));
    EXPECT_EQ(cv::countNonZero(back != big), 0) << f;
  }
  write_label(dir.file("forced.tif"), small, LabelDepth::kU16);
  EXPECT_EQ(cv::imread(dir.file("forced.tif"), cv::IMREAD_UNCHANGED).depth(), CV_16U);
  EXPECT_THROW(write_label(dir.file("x.png"), big, LabelDepth::kU8), pat::Error);
  cv::Mat neg = small.clone();
  neg.at<int32_t>(3, 3) = -1;
  EXPECT_THROW(write_label(dir.file("n.png"), neg), pat::Error);
  EXPECT_THROW(write_label(dir.file("x.jpg"), small), pat::Error);
  EXPECT_THROW(write_label(dir.file("x.png"), cv::Mat(2, 2, CV_8UC3)), pat::Error);
  EXPECT_THROW(write_label(dir.file("no/such/dir/x.png"), small), pat::Error);
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  write_image(dir.file("img.png"), pattern_bgr(3, 3));
  EXPECT_EQ(cv::countNonZero(read_image(dir.file("img.png")).reshape(1) != pattern_bgr(3, 3).reshape(1)), 0);
  EXPECT_TRUE(is_image_extension(".JPG"));
  EXPECT_FALSE(is_image_extension(".gif"));
}
