// Reading torch.save files: detectron2 checkpoints, bare state dicts, and bad input.
#include <cmath>
#include <fstream>
#include <functional>

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/torch_save.h"
#include "test_support.h"

namespace {

using pat::test::data_path;

/// A torch.save-like zip holding `pickle` as data.pkl and the given storage records.
std::string write_archive(const pat::test::TempDir& dir, const std::string& name, const std::string& pickle,
                          const std::map<std::string, std::string>& records = {}) {
  const std::string path = dir.file(name);
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [key, bytes] : records) writer.writeRecord("data/" + key, bytes.data(), bytes.size());
  writer.writeEndOfFile();
  return path;
}

std::string load_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pat::Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool has_skipped(const pat::TorchStateDict& s, const std::string& name, const std::string& reason_part) {
  for (const auto& [n, reason] : s.skipped)
    if (n == name && reason.find(reason_part) != std::string::npos) return true;
  return false;
}

TEST(TorchSave, ReadsDetectron2CheckpointModelEntry) {
  auto s = pat::read_torch_state_dict(data_path("convert/tiny_detectron2.pth"));
  EXPECT_EQ(s.entry, "model");
  // The state dict itself: an OrderedDict with _metadata (what LibTorch's pickle_load refuses).
  ASSERT_TRUE(s.tensors.count("sem_seg_head.predictor.clip_model.visual.conv1.weight"));
  EXPECT_EQ(s.tensors.at("sem_seg_head.predictor.clip_model.visual.conv1.weight").sizes(),
            torch::IntArrayRef({64, 3, 8, 8}));
  EXPECT_EQ(s.tensors.at("sem_seg_head.predictor.clip_model.logit_scale").dim(), 0);
  EXPECT_NEAR(s.tensors.at("sem_seg_head.predictor.clip_model.logit_scale").item<double>(), std::log(1 / 0.07), 1e-6);
  EXPECT_EQ(s.tensors.at("upsample1.weight").scalar_type(), torch::kFloat32);
  for (const auto& [name, t] : s.tensors) EXPECT_EQ(name.rfind("optimizer", 0), std::string::npos) << name;
  // The other detectron2 entries (one of them holds numpy scalars) are reported, not read.
  EXPECT_TRUE(has_skipped(s, "iteration", "int, not the state dict"));
  EXPECT_TRUE(has_skipped(s, "optimizer", "dict, not the state dict"));
  EXPECT_TRUE(has_skipped(s, "scheduler", "dict, not the state dict"));
}

TEST(TorchSave, SkipsNumpyScalarsInsideTheStateDict) {
  // The scheduler entry read as if it were the state dict: numpy.int64 / float64 values are opaque objects.
  auto s = pat::read_torch_state_dict(data_path("convert/tiny_detectron2.pth"), "scheduler");
  EXPECT_EQ(s.entry, "scheduler");
  EXPECT_TRUE(s.tensors.empty());
  EXPECT_TRUE(has_skipped(s, "last_epoch", "scalar object, not a tensor")) << s.skipped.size();
  EXPECT_TRUE(has_skipped(s, "base_lrs", "list, not a tensor"));
}

TEST(TorchSave, WholeFileFlattensNestedDicts) {
  auto s = pat::read_torch_state_dict(data_path("convert/tiny_detectron2.pth"), "");
  EXPECT_EQ(s.entry, "");
  EXPECT_TRUE(s.tensors.count("model.upsample2.bias"));
  ASSERT_TRUE(s.tensors.count("optimizer.state.0.exp_avg"));
  EXPECT_EQ(s.tensors.at("optimizer.state.0.exp_avg").abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(has_skipped(s, "iteration", "int, not a tensor"));
}

TEST(TorchSave, ReadsHalfPrecisionBareStateDict) {
  auto s = pat::read_torch_state_dict(data_path("convert/tiny_packed_fp16.pth"));
  EXPECT_EQ(s.entry, "");  // no "model" entry: the file is the state dict
  const auto& w = s.tensors.at("sem_seg_head.predictor.clip_model.visual.transformer.resblocks.0.attn.in_proj_weight");
  EXPECT_EQ(w.scalar_type(), torch::kFloat16);
  EXPECT_EQ(w.sizes(), torch::IntArrayRef({192, 64}));
  EXPECT_EQ(s.tensors.at("sem_seg_head.predictor.clip_model.input_resolution").scalar_type(), torch::kInt64);
  EXPECT_EQ(s.tensors.at("sem_seg_head.predictor.clip_model.input_resolution").item<int64_t>(), 32);
}

TEST(TorchSave, SameValuesInBothFixtures) {
  auto a = pat::read_torch_state_dict(data_path("convert/tiny_detectron2.pth")).tensors;
  auto b = pat::read_torch_state_dict(data_path("convert/tiny_packed_fp16.pth")).tensors;
  const std::string name = "sem_seg_head.predictor.transformer.conv1.weight";
  EXPECT_TRUE(torch::equal(a.at(name).to(torch::kFloat16), b.at(name)));
}

TEST(TorchSave, LegacyFormatSaysHowToResave) {
  const auto msg = load_error_of([] { pat::read_torch_state_dict(data_path("convert/tiny_legacy.pth")); });
  EXPECT_NE(msg.find("legacy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("torch.save(torch.load("), std::string::npos) << msg;
  EXPECT_EQ(pat::torch_file_kind(data_path("convert/tiny_legacy.pth")), pat::TorchFileKind::kLegacySave);
}

TEST(TorchSave, RefusesOtherFiles) {
  EXPECT_EQ(pat::torch_file_kind(data_path("clip/tiny_clip.pt")), pat::TorchFileKind::kTorchScript);
  EXPECT_NE(load_error_of([] { pat::read_torch_state_dict(data_path("clip/tiny_clip.pt")); }).find("TorchScript"),
            std::string::npos);
  EXPECT_NE(load_error_of([] { pat::read_torch_state_dict(data_path("core/arange.npy")); }).find("not a torch.save"),
            std::string::npos);
  EXPECT_NE(load_error_of([] { pat::read_torch_state_dict("/nonexistent/model.pth"); }).find("cannot open"),
            std::string::npos);
}

TEST(TorchSave, MalformedPicklesAreErrorsNotCrashes) {
  pat::test::TempDir dir;
  // truncated: EMPTY_DICT, MARK, no STOP
  auto truncated = write_archive(dir, "a.pth", std::string("\x80\x02}q\x00(", 6));
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(truncated); }).find("truncated pickle"), std::string::npos);
  // EXT1 is not something torch.save writes
  auto ext = write_archive(dir, "b.pth", std::string("\x80\x02\x82\x01.", 5));
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(ext); }).find("unsupported pickle opcode 0x82"),
            std::string::npos);
  // a list at the top level
  auto list = write_archive(dir, "c.pth", std::string("\x80\x02]q\x00.", 6));
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(list); }).find("expected a dict"), std::string::npos);
  // BINGET of an unset memo entry
  auto memo = write_archive(dir, "d.pth", std::string("\x80\x02h\x07.", 5));
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(memo); }).find("memo entry 7"), std::string::npos);
}

/// Pickle bytes from opcodes and literal pieces (hex escapes would swallow following hex digits).
std::string raw(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

/// BINUNICODE
std::string unicode(const std::string& s) {
  return "X" + raw({static_cast<int>(s.size()), 0, 0, 0}) + s;
}

/// {"w": tensor of `size` floats at `offset`, storage "0" of 4 elements of `storage_class`}
std::string tensor_pickle(int size, int offset, const std::string& storage_class) {
  std::string p = raw({0x80, 2}) + "}" + unicode("w");
  p += "ctorch._utils\n_rebuild_tensor_v2\n";
  p += "((" + unicode("storage") + "ctorch\n" + storage_class + "\n" + unicode("0") + unicode("cpu") + "K" + raw({4}) +
       "tQ";                             // persistent id ('storage', cls, '0', 'cpu', 4)
  p += "K" + raw({offset});              // storage offset
  p += "K" + raw({size, 0x85});          // size (n,)
  p += "K" + raw({1, 0x85});             // stride (1,)
  p += raw({0x89});                      // requires_grad False
  p += "ccollections\nOrderedDict\n)R";  // backward hooks
  p += "tRs.";                           // args tuple, REDUCE, SETITEM, STOP
  return p;
}

TEST(TorchSave, TensorRecordsAreChecked) {
  pat::test::TempDir dir;
  const float values[4] = {1.f, 2.f, 3.f, 4.f};
  const std::string bytes(reinterpret_cast<const char*>(values), sizeof values);
  auto ok = write_archive(dir, "ok.pth", tensor_pickle(2, 1, "FloatStorage"), {{"0", bytes}});
  auto s = pat::read_torch_state_dict(ok);
  ASSERT_TRUE(s.tensors.count("w"));
  EXPECT_TRUE(torch::equal(s.tensors.at("w"), torch::tensor({2.f, 3.f})));
  auto past = write_archive(dir, "past.pth", tensor_pickle(4, 1, "FloatStorage"), {{"0", bytes}});
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(past); }).find("reaches past its storage"),
            std::string::npos);
  auto missing = write_archive(dir, "missing.pth", tensor_pickle(2, 0, "FloatStorage"));
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(missing); }).find("no storage record"), std::string::npos);
  auto qint = write_archive(dir, "q.pth", tensor_pickle(2, 0, "QInt8Storage"), {{"0", bytes}});
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(qint); }).find("unsupported storage type"),
            std::string::npos);
  auto short_record = write_archive(dir, "short.pth", tensor_pickle(2, 0, "DoubleStorage"), {{"0", bytes}});
  EXPECT_NE(load_error_of([&] { pat::read_torch_state_dict(short_record); }).find("fewer than 4 elements"),
            std::string::npos);
}

TEST(TorchSave, UnknownClassesInTheStateDictAreSkipped) {
  pat::test::TempDir dir;
  // {"a": numpy.scalar(dtype('f8'), b'...'), "b": 1.5}: the class is recorded, never built
  std::string p = raw({0x80, 2}) + "}(" + unicode("a") + "cnumpy.core.multiarray\nscalar\n";
  p += "cnumpy\ndtype\n" + unicode("f8") + raw({0x89, 0x88, 0x87}) + "R(K" + raw({3}) + "tb";
  p += "C" + raw({8, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x86}) + "R";
  p += unicode("b") + "G" + raw({0x3f, 0xf8, 0, 0, 0, 0, 0, 0}) + "u.";
  auto path = write_archive(dir, "np.pth", p);
  auto s = pat::read_torch_state_dict(path);
  EXPECT_TRUE(s.tensors.empty());
  EXPECT_TRUE(has_skipped(s, "a", "numpy.core.multiarray.scalar object, not a tensor"));
  EXPECT_TRUE(has_skipped(s, "b", "float, not a tensor"));
}

}  // namespace
