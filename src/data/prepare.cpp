#include "pat/data/prepare.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/data/class_list.h"
#include "pat/data/dataset.h"
#include "pat/data/image_io.h"

namespace fs = std::filesystem;

namespace pat::data {
namespace {

enum class Outcome { kConverted, kExisting, kEmpty, kCopied };

struct Job {
  enum Kind { kLabel, kCopy } kind = kLabel;
  std::string src, dst;
  const LabelLut* lut = nullptr;
  bool skip_empty = false;
};

Outcome run_job(const Job& job, bool overwrite) {
  if (!overwrite && fs::exists(job.dst)) return Outcome::kExisting;
  if (job.kind == Job::kCopy) {
    write_file_atomic(job.dst, read_file(job.src, "image"));
    return Outcome::kCopied;
  }
  const cv::Mat out = apply_lut(read_label(job.src), *job.lut, job.src);
  if (job.skip_empty) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(out, &lo, &hi);
    if (lo == 255) return Outcome::kEmpty;
  }
  write_label(job.dst, out, LabelDepth::kU8);
  return Outcome::kConverted;
}

void run_jobs(const std::vector<Job>& jobs, const PrepareOptions& o, PrepareReport& report) {
  const int threads = o.num_threads > 0 ? o.num_threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0;
  std::exception_ptr error;
  auto worker = [&] {
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      Outcome outcome;
      try {
        outcome = run_job(jobs[i], o.overwrite);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!error) error = std::current_exception();
        next = jobs.size();  // stop the others
        return;
      }
      std::lock_guard<std::mutex> lk(mu);
      switch (outcome) {
        case Outcome::kConverted:
          ++report.converted;
          break;
        case Outcome::kExisting:
          ++report.skipped_existing;
          break;
        case Outcome::kEmpty:
          ++report.skipped_empty;
          break;
        case Outcome::kCopied:
          ++report.images_copied;
          break;
      }
      ++done;
      if (o.progress) o.progress(done, jobs.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min<int>(threads, int(std::max<size_t>(jobs.size(), 1))); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

std::vector<fs::path> list_with_ext(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool same_place(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a) && fs::exists(b) && fs::equivalent(a, b, ec);
}

/// Makes `dst` show the images of `src`: nothing when it already exists or is `src`, else a
/// directory symlink, else (copy jobs) file copies.
void link_images(const fs::path& src, const fs::path& dst, const PrepareOptions& o, std::vector<Job>& jobs) {
  PAT_CHECK(fs::is_directory(src), "prepare: image folder ", src.string(), " not found");
  if (same_place(src, dst)) return;
  ensure_directory(dst.parent_path().string());
  if (o.link_images && !fs::exists(dst) && !fs::is_symlink(dst)) {
    std::error_code ec;
    fs::create_directory_symlink(fs::absolute(src), dst, ec);
    if (!ec) {
      PAT_LOG_INFO("linked {} -> {}", dst.string(), fs::absolute(src).string());
      return;
    }
    PAT_LOG_WARN("cannot symlink {} ({}); copying the images", dst.string(), ec.message());
  }
  if (fs::is_directory(dst) && fs::is_symlink(dst)) return;  // an earlier link
  ensure_directory(dst.string(), "image folder");
  for (const auto& e : fs::directory_iterator(src)) {
    if (!e.is_regular_file()) continue;
    Job j;
    j.kind = Job::kCopy;
    j.src = e.path().string();
    j.dst = (dst / e.path().filename()).string();
    jobs.push_back(j);
  }
}

fs::path first_existing(const std::vector<fs::path>& candidates, const std::string& what) {
  for (const auto& c : candidates)
    if (fs::is_directory(c)) return c;
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.string();
  PAT_FAIL("prepare: ", what, " not found (tried ", tried, ")");
}

void add_label_jobs(const fs::path& in_dir, const fs::path& out_dir, const LabelLut& lut, bool skip_empty,
                    std::vector<Job>& jobs, PrepareReport& report) {
  ensure_directory(out_dir.string(), "output label folder");
  const auto files = list_with_ext(in_dir, ".png");
  PAT_CHECK(!files.empty(), "prepare: no .png label maps in ", in_dir.string());
  for (const auto& f : files) {
    Job j;
    j.src = f.string();
    j.dst = (out_dir / f.filename()).string();
    j.lut = &lut;
    j.skip_empty = skip_empty;
    jobs.push_back(j);
  }
  report.outputs.push_back(out_dir.string());
}

PrepareReport prepare_coco(const PrepareOptions& o, const fs::path& root) {
  static const LabelLut lut = coco_stuff_lut();
  const fs::path src(o.source), out = root / "coco-stuff";
  PrepareReport report;
  std::vector<Job> jobs;
  int splits = 0;
  for (const char* split : {"train2017", "val2017"}) {
    fs::path ann;
    for (const auto& c : {src / "stuffthingmaps_trainval2017" / split, src / "annotations" / split})
      if (fs::is_directory(c)) {
        ann = c;
        break;
      }
    if (ann.empty()) {
      PAT_LOG_WARN("coco-stuff: no {} label maps under {}; skipping that split", split, src.string());
      continue;
    }
    ++splits;
    const fs::path images =
        first_existing({src / "images" / split, src / split}, std::string("coco-stuff ") + split + " images");
    link_images(images, out / "images" / split, o, jobs);
    add_label_jobs(ann, out / "annotations_detectron2" / split, lut, false, jobs, report);
  }
  PAT_CHECK(splits > 0, "prepare coco-stuff: ", src.string(),
            " has neither stuffthingmaps_trainval2017/{train2017,val2017} nor annotations/{train2017,val2017}");
  run_jobs(jobs, o, report);
  return report;
}

PrepareReport prepare_ade(const PrepareOptions& o, const fs::path& root) {
  static const LabelLut lut = ade150_lut();
  fs::path src(o.source);
  if (fs::is_directory(src / "ADEChallengeData2016")) src = src / "ADEChallengeData2016";
  const fs::path out = root / "ADEChallengeData2016";
  PAT_CHECK(fs::is_directory(src / "annotations"), "prepare ade150: ", src.string(),
            " has no annotations/ folder (expected the ADEChallengeData2016 release)");
  PrepareReport report;
  std::vector<Job> jobs;
  for (const char* split : {"training", "validation"}) {
    if (!fs::is_directory(src / "annotations" / split)) {
      PAT_LOG_WARN("ade150: no annotations/{} under {}; skipping that split", split, src.string());
      continue;
    }
    link_images(src / "images" / split, out / "images" / split, o, jobs);
    add_label_jobs(src / "annotations" / split, out / "annotations_detectron2" / split, lut, false, jobs, report);
  }
  PAT_CHECK(!jobs.empty(), "prepare ade150: no label maps found under ", (src / "annotations").string());
  for (const char* info : {"objectInfo150.csv", "objectInfo150.txt"}) {
    const fs::path p = src / info;
    if (!fs::exists(p)) continue;
    const fs::path list = root / "ade150.json";
    if (!fs::exists(list)) save_class_names(list.string(), read_ade_object_info(p.string()));
    report.outputs.push_back(list.string());
    break;
  }
  run_jobs(jobs, o, report);
  return report;
}

PrepareReport prepare_voc(const PrepareOptions& o, const fs::path& root) {
  static const LabelLut lut20 = voc_lut(false), lut20b = voc_lut(true);
  fs::path src(o.source);
  for (const auto& c : {src / "VOCdevkit" / "VOC2012", src / "VOC2012"})
    if (fs::is_directory(c)) {
      src = c;
      break;
    }
  const fs::path list = src / "ImageSets" / "Segmentation" / "val.txt";
  PAT_CHECK(fs::exists(list), "prepare voc: ", list.string(), " not found (expected the VOC2012 folder)");
  const fs::path aug = first_existing({src / "SegmentationClassAug", src.parent_path() / "SegmentationClassAug"},
                                      "SegmentationClassAug");
  const fs::path out = root / "VOCdevkit" / "VOC2012";
  PrepareReport report;
  std::vector<Job> jobs;
  link_images(src / "JPEGImages", out / "JPEGImages", o, jobs);
  const fs::path out20 = out / "annotations_detectron2" / "val", out20b = out / "annotations_detectron2_bg" / "val";
  ensure_directory(out20.string(), "output label folder");
  ensure_directory(out20b.string(), "output label folder");
  std::istringstream ids(read_file(list.string(), "VOC val list"));
  std::string id;
  size_t count = 0;
  while (ids >> id) {
    const fs::path mask = aug / (id + ".png");
    PAT_CHECK(fs::exists(mask), "prepare voc: ", mask.string(), " (listed in val.txt) not found");
    for (int bg = 0; bg < 2; ++bg) {
      Job j;
      j.src = mask.string();
      j.dst = ((bg ? out20b : out20) / (id + ".png")).string();
      j.lut = bg ? &lut20b : &lut20;
      j.skip_empty = true;
      jobs.push_back(j);
    }
    ++count;
  }
  PAT_CHECK(count > 0, "prepare voc: ", list.string(), " lists no images");
  report.outputs = {out20.string(), out20b.string()};
  run_jobs(jobs, o, report);
  return report;
}

}  // namespace

LabelLut coco_stuff_lut() {
  LabelLut lut;
  lut.fill(255);
  const int gaps[] = {11, 25, 28, 29, 44, 65, 67, 68, 70, 82};
  int next = 0;
  for (int id = 0; id <= 89; ++id)
    if (std::find(std::begin(gaps), std::end(gaps), id) == std::end(gaps)) lut[size_t(id)] = uint8_t(next++);
  PAT_ASSERT(next == 80);
  for (int id = 91; id <= 181; ++id) lut[size_t(id)] = uint8_t(80 + id - 91);
  return lut;
}

LabelLut ade150_lut() {
  LabelLut lut;
  for (int v = 0; v < 256; ++v) lut[size_t(v)] = uint8_t((v + 255) & 255);
  return lut;
}

LabelLut voc_lut(bool background) {
  LabelLut lut;
  lut.fill(255);
  lut[0] = background ? 20 : 255;
  for (int v = 1; v <= 20; ++v) lut[size_t(v)] = uint8_t(v - 1);
  return lut;
}

cv::Mat apply_lut(const cv::Mat& label, const LabelLut& lut, const std::string& source) {
  PAT_CHECK(label.channels() == 1 && (label.depth() == CV_32S || label.depth() == CV_8U), "label map ", source,
            ": expected a single-channel 8-bit map");
  cv::Mat in;
  if (label.depth() == CV_32S) {
    double lo = 0, hi = 0;
    cv::minMaxLoc(label, &lo, &hi);
    PAT_CHECK(lo >= 0 && hi <= 255, "label map ", source, ": expected 8-bit values, got range [", lo, ", ", hi, "]");
    label.convertTo(in, CV_8U);
  } else {
    in = label;
  }
  cv::Mat out(in.size(), CV_8UC1);
  for (int y = 0; y < in.rows; ++y) {
    const uint8_t* s = in.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < in.cols; ++x) d[x] = lut[s[x]];
  }
  return out;
}

std::vector<std::string> read_ade_object_info(const std::string& path) {
  std::istringstream in(read_file(path, "ADE object info"));
  std::string line;
  std::vector<std::string> names;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (header) {  // "Idx,Ratio,Train,Val,Name" or the tab-separated equivalent
      header = false;
      continue;
    }
    std::string name;
    if (line.find('\t') != std::string::npos) {
      name = line.substr(line.rfind('\t') + 1);
    } else {
      size_t pos = 0;
      for (int i = 0; i < 4 && pos != std::string::npos; ++i) pos = line.find(',', pos + (i ? 1 : 0));
      PAT_CHECK(pos != std::string::npos, "ADE object info ", path, ": malformed line '", line, "'");
      name = line.substr(pos + 1);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
      std::string joined;
      std::stringstream parts(name);
      std::string part;
      while (std::getline(parts, part, ';')) joined += (joined.empty() ? "" : ", ") + part;
      name = joined;
    }
    names.push_back(name);
  }
  PAT_CHECK(names.size() == 150, "ADE object info ", path, ": expected 150 classes, got ", names.size());
  validate_class_names(names, path);
  return names;
}

std::vector<std::string> prepare_dataset_names() {
  return {"coco-stuff", "ade150", "voc"};
}

PrepareReport prepare_dataset(const std::string& name, const PrepareOptions& options) {
  PAT_CHECK(!options.source.empty(), "prepare ", name, ": no source folder given");
  PAT_CHECK(fs::is_directory(options.source), "prepare ", name, ": source folder ", options.source, " not found");
  const fs::path root = resolve_data_root(options.data_root);
  ensure_directory(root.string(), "data root");
  if (name == "coco-stuff") return prepare_coco(options, root);
  if (name == "ade150") return prepare_ade(options, root);
  if (name == "voc") return prepare_voc(options, root);
  PAT_FAIL("prepare: unknown dataset '", name,
           "' (known: coco-stuff, ade150, voc; ADE-847 and PASCAL-Context use tools/prepare_*.py)");
}

}  // namespace pat::data
