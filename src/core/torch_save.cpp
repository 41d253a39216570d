#include "pat/core/torch_save.h"

#include <fstream>
#include <map>
#include <memory>
#include <tuple>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include "core/detail/pickle.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/strings.h"

namespace pat {
namespace {

using detail::PickleRef;
using Kind = detail::PickleValue::Kind;

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

/// Storage classes torch.save names in its persistent ids (`torch.FloatStorage`, ...).
torch::Dtype storage_dtype(const std::string& type, const std::string& what) {
  static const std::map<std::string, torch::Dtype> kTypes = {{"FloatStorage", torch::kFloat32},
                                                             {"DoubleStorage", torch::kFloat64},
                                                             {"HalfStorage", torch::kFloat16},
                                                             {"BFloat16Storage", torch::kBFloat16},
                                                             {"LongStorage", torch::kInt64},
                                                             {"IntStorage", torch::kInt32},
                                                             {"ShortStorage", torch::kInt16},
                                                             {"CharStorage", torch::kInt8},
                                                             {"ByteStorage", torch::kUInt8},
                                                             {"BoolStorage", torch::kBool},
                                                             {"ComplexFloatStorage", torch::kComplexFloat},
                                                             {"ComplexDoubleStorage", torch::kComplexDouble}};
  auto it = kTypes.find(type);
  PAT_CHECK(it != kTypes.end(), what, ": unsupported storage type torch.", type,
            " (quantized or custom tensors are not supported)");
  return it->second;
}

/// The zip, the storages read so far, and the pickle's persistent-id hook.
class Archive {
 public:
  explicit Archive(const std::string& path) : path_(path) {
    try {
      reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    } catch (const c10::Error& e) {
      PAT_FAIL(path, ": not a readable torch.save zip archive (", first_line(e.what_without_backtrace()), ")");
    }
  }

  caffe2::serialize::PyTorchStreamReader& reader() { return *reader_; }

  std::string record(const std::string& name) {
    PAT_CHECK(reader_->hasRecord(name), path_, ": the archive has no record \"", name, "\"");
    try {
      auto [data, size] = reader_->getRecord(name);
      return std::string(static_cast<const char*>(data.get()), size);
    } catch (const c10::Error& e) {
      PAT_FAIL(path_, ": cannot read record \"", name, "\" (", first_line(e.what_without_backtrace()), ")");
    }
  }

  /// ('storage', <class torch.XStorage>, key, location, numel) -> a storage value (data read lazily).
  PickleRef storage_for(const PickleRef& pid) {
    PAT_CHECK(pid->kind == Kind::kTuple && pid->items.size() >= 5 && pid->items[0]->kind == Kind::kString &&
                  pid->items[0]->text == "storage" && pid->items[1]->kind == Kind::kGlobal &&
                  pid->items[2]->kind == Kind::kString && pid->items[4]->kind == Kind::kInt,
              path_, ": unsupported persistent id in data.pkl (expected a torch.save storage reference)");
    const std::string& cls = pid->items[1]->text;
    auto v = std::make_shared<detail::PickleValue>();
    v->kind = Kind::kStorage;
    v->text = pid->items[2]->text;
    v->storage_type = cls.substr(cls.rfind('.') + 1);
    v->storage_numel = pid->items[4]->integer;
    storage_dtype(v->storage_type, path_);  // reject unknown types early
    return v;
  }

  torch::Tensor tensor(const detail::PickleValue& t, const std::string& name) {
    const auto& s = *t.state;
    const auto dtype = storage_dtype(s.storage_type, path_);
    torch::Tensor storage = storage_tensor(s.text, dtype, s.storage_numel);
    int64_t last = t.storage_offset;
    for (size_t i = 0; i < t.sizes.size(); ++i) {
      PAT_CHECK(t.sizes[i] >= 0 && t.strides[i] >= 0, path_, ": tensor ", name, " has a negative size or stride");
      if (t.sizes[i] == 0) last = -1;
      if (last >= 0) last += (t.sizes[i] - 1) * t.strides[i];
    }
    PAT_CHECK(t.storage_offset >= 0 && last < storage.numel(), path_, ": tensor ", name, " reaches past its storage (",
              storage.numel(), " elements)");
    return storage.as_strided(t.sizes, t.strides, t.storage_offset);
  }

 private:
  torch::Tensor storage_tensor(const std::string& key, torch::Dtype dtype, int64_t numel) {
    auto it = storages_.find(key);
    if (it != storages_.end()) return it->second;
    const std::string name = "data/" + key;
    PAT_CHECK(reader_->hasRecord(name), path_, ": the archive has no storage record \"", name, "\"");
    at::DataPtr data;
    size_t size = 0;
    try {
      std::tie(data, size) = reader_->getRecord(name);
    } catch (const c10::Error& e) {
      PAT_FAIL(path_, ": cannot read record \"", name, "\" (", first_line(e.what_without_backtrace()), ")");
    }
    const int64_t element = static_cast<int64_t>(c10::elementSize(dtype));
    PAT_CHECK(numel >= 0 && static_cast<int64_t>(size) >= numel * element, path_, ": storage record \"", name,
              "\" holds ", size, " bytes, fewer than ", numel, " elements of ", element, " bytes");
    auto owner = std::make_shared<at::DataPtr>(std::move(data));
    void* ptr = owner->get();
    auto t = torch::from_blob(
        ptr, {numel}, [owner](void*) mutable { owner.reset(); }, torch::TensorOptions().dtype(dtype));
    storages_.emplace(key, t);
    return t;
  }

  std::string path_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::map<std::string, torch::Tensor> storages_;
};

std::string key_string(const detail::PickleValue& key) {
  switch (key.kind) {
    case Kind::kString:
      return key.text;
    case Kind::kInt:
      return std::to_string(key.integer);
    default:
      return "<" + key.describe() + ">";
  }
}

/// Materializes every tensor of `dict` (nested dicts flattened) into `out`.
void collect(Archive& archive, const detail::PickleValue& dict, const std::string& prefix, TorchStateDict& out) {
  for (const auto& [key, value] : dict.entries) {
    const std::string name = prefix + key_string(*key);
    if (value->kind == Kind::kTensor) {
      out.tensors[name] = archive.tensor(*value, name);
    } else if (value->kind == Kind::kDict) {
      collect(archive, *value, name + ".", out);
    } else {
      out.skipped.emplace_back(name, value->describe() + ", not a tensor");
      if (value->kind == Kind::kObject) PAT_LOG_WARN("skipped {}: a {} (not rebuilt)", name, value->describe());
    }
  }
}

}  // namespace

TorchFileKind torch_file_kind(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PAT_CHECK(in.good(), path, ": cannot open (file missing or unreadable)");
  unsigned char head[4] = {};
  in.read(reinterpret_cast<char*>(head), 4);
  if (in.gcount() == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
    Archive archive(path);
    bool script = false;
    for (const auto& name : archive.reader().getAllRecords())
      script = script || name == "constants.pkl" || starts_with(name, "code/");
    if (script) return TorchFileKind::kTorchScript;
    return archive.reader().hasRecord("data.pkl") ? TorchFileKind::kTorchSave : TorchFileKind::kOther;
  }
  if (in.gcount() >= 2 && head[0] == 0x80 && head[1] <= 5) return TorchFileKind::kLegacySave;
  return TorchFileKind::kOther;
}

TorchStateDict read_torch_state_dict(const std::string& path, const std::string& entry) {
  switch (torch_file_kind(path)) {
    case TorchFileKind::kTorchSave:
      break;
    case TorchFileKind::kLegacySave:
      PAT_FAIL(path,
               ": the legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a recent "
               "PyTorch: python -c \"import torch; torch.save(torch.load('",
               path, "', map_location='cpu'), 'resaved.pth')\"");
    case TorchFileKind::kTorchScript:
      PAT_FAIL(path, ": a TorchScript archive (torch.jit.save or PAT's own .pt), not a torch.save checkpoint");
    case TorchFileKind::kOther:
      PAT_FAIL(path, ": not a torch.save file (expected a zip archive with data.pkl)");
  }
  Archive archive(path);
  if (archive.reader().hasRecord("byteorder")) {
    const std::string order = archive.record("byteorder");
    PAT_CHECK(order == "little", path, ": big-endian tensor data is not supported (byteorder \"", order, "\")");
  }
  const std::string what = path + " (data.pkl)";
  const detail::PersistentLoader loader = [&](const PickleRef& pid) { return archive.storage_for(pid); };
  const PickleRef root = detail::unpickle(archive.record("data.pkl"), what, loader);
  PAT_CHECK(root->kind == Kind::kDict, path, ": expected a dict (a state dict or a checkpoint), got ",
            root->describe());

  TorchStateDict out;
  const detail::PickleValue* state = root.get();
  if (!entry.empty()) {
    for (const auto& [key, value] : root->entries)
      if (key->kind == Kind::kString && key->text == entry && value->kind == Kind::kDict) state = value.get();
  }
  if (state != root.get()) {
    out.entry = entry;
    for (const auto& [key, value] : root->entries)
      if (value.get() != state) out.skipped.emplace_back(key_string(*key), value->describe() + ", not the state dict");
  }
  collect(archive, *state, "", out);
  PAT_LOG_DEBUG("{}: read {} tensors{}", path, out.tensors.size(), entry.empty() ? "" : " from \"" + out.entry + "\"");
  return out;
}

}  // namespace pat
