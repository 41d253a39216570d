#include "pat/data/image_io.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace fs = std::filesystem;

namespace pat::data {
namespace {

enum class Format { kUnknown, kJpeg, kPng, kBmp, kWebp, kTiff, kPnm, kGif, kHeif };

const char* format_name(Format f) {
  switch (f) {
    case Format::kJpeg:
      return "JPEG";
    case Format::kPng:
      return "PNG";
    case Format::kBmp:
      return "BMP";
    case Format::kWebp:
      return "WebP";
    case Format::kTiff:
      return "TIFF";
    case Format::kPnm:
      return "PNM";
    case Format::kGif:
      return "GIF";
    case Format::kHeif:
      return "HEIF/AVIF";
    default:
      return "unknown";
  }
}

const uint8_t* bytes_of(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

Format sniff(const std::string& s) {
  const uint8_t* b = bytes_of(s);
  const size_t n = s.size();
  auto starts = [&](const char* magic, size_t len, size_t at = 0) {
    return n >= at + len && std::memcmp(b + at, magic, len) == 0;
  };
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::kJpeg;
  if (starts("\x89PNG\r\n\x1a\n", 8)) return Format::kPng;
  if (starts("BM", 2)) return Format::kBmp;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return Format::kWebp;
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return Format::kTiff;
  if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return Format::kPnm;
  if (starts("GIF8", 4)) return Format::kGif;
  if (starts("ftyp", 4, 4) && (starts("heic", 4, 8) || starts("heix", 4, 8) || starts("mif1", 4, 8) ||
                               starts("avif", 4, 8) || starts("msf1", 4, 8)))
    return Format::kHeif;
  return Format::kUnknown;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

/// Walks the JPEG marker structure. Returns false only when the data ends before the EOI marker
/// (a truncated download); anything odd is left to the decoder.
bool jpeg_complete(const std::string& s) {
  const uint8_t* b = bytes_of(s);
  const size_t n = s.size();
  size_t pos = 2;
  while (true) {
    if (pos >= n) return false;
    if (b[pos] != 0xFF) return true;          // not a marker where one belongs: let the decoder judge
    while (pos < n && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= n) return false;
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) return true;
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    if (pos + 2 > n) return false;
    const size_t len = (size_t(b[pos]) << 8) | b[pos + 1];
    if (len < 2) return true;
    pos += len;
    if (pos > n) return false;
    if (marker == 0xDA) {  // entropy-coded data runs until the next real marker
      while (true) {
        if (pos + 1 >= n) return false;
        if (b[pos] == 0xFF) {
          const uint8_t next = b[pos + 1];
          if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) break;
        }
        ++pos;
      }
    }
  }
}

struct PngInfo {
  bool complete = false;
  int width = 0, height = 0, bit_depth = 0, color_type = -1, interlace = 0;
  std::string idat;
};

/// Walks the PNG chunks up to IEND; collects IHDR and (when `collect`) the IDAT stream.
PngInfo png_walk(const std::string& s, bool collect) {
  PngInfo info;
  const uint8_t* b = bytes_of(s);
  const size_t n = s.size();
  size_t pos = 8;
  while (pos + 8 <= n) {
    const size_t len = be32(b + pos);
    const std::string type(s.data() + pos + 4, 4);
    if (pos + 12 + len > n) return info;
    const uint8_t* data = b + pos + 8;
    if (type == "IHDR" && len >= 13) {
      info.width = int(be32(data));
      info.height = int(be32(data + 4));
      info.bit_depth = data[8];
      info.color_type = data[9];
      info.interlace = data[12];
    } else if (type == "IDAT" && collect) {
      info.idat.append(reinterpret_cast<const char*>(data), len);
    } else if (type == "IEND") {
      info.complete = true;
      return info;
    }
    pos += 12 + len;
  }
  return info;
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return uint8_t(a);
  if (pb <= pc) return uint8_t(b);
  return uint8_t(c);
}

/// Palette indices of a non-interlaced palette PNG (OpenCV would expand them to colours).
cv::Mat decode_png_palette_indices(const PngInfo& info, const std::string& name) {
  PAT_CHECK(info.interlace == 0, "label map ", name,
            ": interlaced palette PNGs are not supported (re-save it non-interlaced)");
  const int depth = info.bit_depth;
  PAT_CHECK(depth == 1 || depth == 2 || depth == 4 || depth == 8, "label map ", name, ": bad palette bit depth ",
            depth);
  PAT_CHECK(info.width > 0 && info.height > 0, "label map ", name, ": bad PNG size");
  const size_t row_bytes = (size_t(info.width) * depth + 7) / 8;
  std::vector<uint8_t> raw((row_bytes + 1) * size_t(info.height));
  uLongf raw_len = uLongf(raw.size());
  const int rc = ::uncompress(raw.data(), &raw_len, bytes_of(info.idat), uLong(info.idat.size()));
  PAT_CHECK(rc == Z_OK && raw_len == raw.size(), "label map ", name, ": corrupt or truncated PNG data");
  cv::Mat out(info.height, info.width, CV_32SC1);
  std::vector<uint8_t> prev(row_bytes, 0), cur(row_bytes);
  for (int y = 0; y < info.height; ++y) {
    const uint8_t* line = raw.data() + size_t(y) * (row_bytes + 1);
    const uint8_t filter = line[0];
    for (size_t x = 0; x < row_bytes; ++x) {
      const int a = x >= 1 ? cur[x - 1] : 0, up = prev[x], c = x >= 1 ? prev[x - 1] : 0;
      uint8_t v = line[1 + x];
      switch (filter) {
        case 0:
          break;
        case 1:
          v = uint8_t(v + a);
          break;
        case 2:
          v = uint8_t(v + up);
          break;
        case 3:
          v = uint8_t(v + ((a + up) >> 1));
          break;
        case 4:
          v = uint8_t(v + paeth(a, up, c));
          break;
        default:
          PAT_FAIL("label map ", name, ": corrupt PNG (filter type ", int(filter), ")");
      }
      cur[x] = v;
    }
    int32_t* dst = out.ptr<int32_t>(y);
    const int per_byte = 8 / depth;
    const int mask = (1 << depth) - 1;
    for (int x = 0; x < info.width; ++x) {
      const uint8_t byte = cur[size_t(x / per_byte)];
      const int shift = 8 - depth * (x % per_byte + 1);
      dst[x] = (byte >> shift) & mask;
    }
    std::swap(prev, cur);
  }
  return out;
}

std::string read_checked(const std::string& path, const char* what) {
  PAT_CHECK(!path.empty(), what, ": empty path");
  PAT_CHECK(fs::exists(path), what, " ", path, ": no such file");
  PAT_CHECK(!fs::is_directory(path), what, " ", path, ": expected a file, got a directory");
  std::string bytes = pat::read_file(path, what);
  PAT_CHECK(!bytes.empty(), what, " ", path, ": empty file");
  return bytes;
}

/// Format checks shared by images and labels; returns the sniffed format.
Format check_container(const std::string& bytes, const std::string& name, const char* what) {
  const Format f = sniff(bytes);
  PAT_CHECK(f != Format::kGif && f != Format::kHeif, what, " ", name, ": unsupported image format ", format_name(f),
            " (convert it to PNG or JPEG)");
  if (f == Format::kJpeg)
    PAT_CHECK(jpeg_complete(bytes), what, " ", name, ": truncated JPEG (data ends before the end marker)");
  if (f == Format::kPng) PAT_CHECK(png_walk(bytes, false).complete, what, " ", name, ": truncated PNG (no IEND chunk)");
  return f;
}

cv::Mat imdecode_bytes(const std::string& bytes, int flags) {
  cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  try {
    return cv::imdecode(buf, flags);
  } catch (const cv::Exception&) {
    return cv::Mat();
  }
}

void check_decoded(const cv::Mat& m, Format f, const std::string& name, const char* what) {
  if (!m.empty()) return;
  if (f == Format::kUnknown) PAT_FAIL(what, " ", name, ": not an image (unrecognised content)");
  PAT_FAIL(what, " ", name, ": cannot decode ", format_name(f), " data (corrupt or truncated file)");
}

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

}  // namespace

bool is_image_extension(const std::string& extension) {
  std::string e = extension;
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  static const char* kExts[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm"};
  return std::any_of(std::begin(kExts), std::end(kExts), [&](const char* k) { return e == k; });
}

cv::Mat decode_image(const std::string& bytes, const std::string& name) {
  PAT_CHECK(!bytes.empty(), "image ", name, ": empty file");
  const Format f = check_container(bytes, name, "image");
  // IMREAD_COLOR drops alpha, expands palettes and grey, and applies the EXIF orientation;
  // ANYDEPTH keeps 16-bit samples so they can be scaled rather than truncated.
  cv::Mat m = imdecode_bytes(bytes, cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH);
  check_decoded(m, f, name, "image");
  if (m.depth() == CV_16U) {
    m.convertTo(m, CV_8U, 1.0 / 257.0);
  } else if (m.depth() != CV_8U) {
    PAT_FAIL("image ", name, ": unsupported sample type (only 8-bit and 16-bit integer images are supported)");
  }
  if (m.channels() == 1) {
    cv::cvtColor(m, m, cv::COLOR_GRAY2RGB);
  } else if (m.channels() == 4) {
    cv::cvtColor(m, m, cv::COLOR_BGRA2RGB);
  } else {
    PAT_CHECK(m.channels() == 3, "image ", name, ": unsupported channel count ", m.channels());
    cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  }
  return m;
}

cv::Mat read_image(const std::string& path) {
  return decode_image(read_checked(path, "image"), path);
}

cv::Mat read_label(const std::string& path) {
  const std::string bytes = read_checked(path, "label map");
  const Format f = check_container(bytes, path, "label map");
  if (f == Format::kPng) {
    PngInfo info = png_walk(bytes, true);
    if (info.color_type == 3) return decode_png_palette_indices(info, path);
  }
  cv::Mat m = imdecode_bytes(bytes, cv::IMREAD_UNCHANGED);
  check_decoded(m, f, path, "label map");
  PAT_CHECK(m.channels() == 1, "label map ", path, ": expected a single-channel image, got ", m.channels(),
            " channels (colour-coded masks must be converted to class ids)");
  const int d = m.depth();
  PAT_CHECK(d == CV_8U || d == CV_16U || d == CV_16S || d == CV_32S, "label map ", path,
            ": expected integer samples, got a floating-point image");
  cv::Mat out;
  m.convertTo(out, CV_32S);
  return out;
}

void write_label(const std::string& path, const cv::Mat& label, LabelDepth depth) {
  PAT_CHECK(!label.empty(), "write label ", path, ": empty label map");
  PAT_CHECK(label.channels() == 1, "write label ", path, ": expected one channel, got ", label.channels());
  const int d = label.depth();
  PAT_CHECK(d == CV_8U || d == CV_16U || d == CV_32S, "write label ", path, ": expected 8U, 16U or 32S samples");
  double lo = 0, hi = 0;
  cv::minMaxLoc(label, &lo, &hi);
  PAT_CHECK(lo >= 0 && hi <= 65535, "write label ", path, ": values must lie in [0, 65535], got [", lo, ", ", hi, "]");
  if (depth == LabelDepth::kAuto) depth = hi <= 255 ? LabelDepth::kU8 : LabelDepth::kU16;
  PAT_CHECK(depth != LabelDepth::kU8 || hi <= 255, "write label ", path, ": value ", hi, " does not fit 8 bits");
  const std::string ext = lower_extension(path);
  PAT_CHECK(ext == ".png" || ext == ".tif" || ext == ".tiff", "write label ", path,
            ": label maps are written as .png or .tif, got '", ext, "'");
  cv::Mat out;
  label.convertTo(out, depth == LabelDepth::kU8 ? CV_8U : CV_16U);
  std::vector<uchar> encoded;
  std::vector<int> params;
  if (ext == ".png")
    params = {cv::IMWRITE_PNG_COMPRESSION, 3};
  else
    params = {cv::IMWRITE_TIFF_COMPRESSION, 5 /* LZW */};
  PAT_CHECK(cv::imencode(ext, out, encoded, params), "write label ", path, ": encoding failed");
  write_file_atomic(path, std::string(encoded.begin(), encoded.end()));
}

void write_image(const std::string& path, const cv::Mat& rgb, int jpeg_quality) {
  PAT_CHECK(!rgb.empty() && rgb.type() == CV_8UC3, "write image ", path, ": expected an RGB uint8 image");
  const std::string ext = lower_extension(path);
  PAT_CHECK(is_image_extension(ext), "write image ", path, ": unknown image extension '", ext, "'");
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> encoded;
  std::vector<int> params;
  if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
  if (ext == ".png") params = {cv::IMWRITE_PNG_COMPRESSION, 3};
  bool ok = false;
  try {
    ok = cv::imencode(ext, bgr, encoded, params);
  } catch (const cv::Exception& e) {
    PAT_FAIL("write image ", path, ": encoding failed (", e.err, ")");
  }
  PAT_CHECK(ok, "write image ", path, ": encoding failed");
  write_file_atomic(path, std::string(encoded.begin(), encoded.end()));
}

}  // namespace pat::data
