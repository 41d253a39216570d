#include "pat/engine/train/checkpoint.h"

#include <filesystem>
#include <map>
#include <regex>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/safetensors.h"

namespace fs = std::filesystem;

namespace pat::engine {
namespace {

std::map<std::string, torch::Tensor> named_tensors(const torch::nn::Module& model) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& p : model.named_parameters(true)) tensors[p.key()] = p.value();
  for (const auto& b : model.named_buffers(true)) tensors[b.key()] = b.value();
  return tensors;
}

/// Copies `loaded` into the model's tensors, strictly; `what` names the file in errors.
void assign(torch::nn::Module& model, const std::map<std::string, torch::Tensor>& loaded, const std::string& what) {
  auto targets = named_tensors(model);
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, target] : targets) {
    auto it = loaded.find(name);
    if (it == loaded.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      std::ostringstream s;
      s << name << " (expected " << target.sizes() << ", got " << it->second.sizes() << ")";
      mismatched.push_back(s.str());
    }
  }
  for (const auto& [name, tensor] : loaded)
    if (!targets.count(name)) unexpected.push_back(name);
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 8) out += ", ... (" + std::to_string(names.size()) + " in all)";
    return out;
  };
  PAT_CHECK(missing.empty() && unexpected.empty() && mismatched.empty(), what,
            ": weights do not fit the model configured: ", missing.empty() ? "" : "missing " + join(missing) + "; ",
            unexpected.empty() ? "" : "unexpected " + join(unexpected) + "; ",
            mismatched.empty() ? "" : "wrong shape " + join(mismatched));
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(loaded.at(name));
}

std::map<std::string, torch::Tensor> read_model_archive(torch::serialize::InputArchive& archive,
                                                        const std::vector<std::string>& keys) {
  std::map<std::string, torch::Tensor> loaded;
  for (const auto& key : keys) {
    torch::Tensor t;
    if (archive.try_read(key, t)) loaded[key] = t;
  }
  return loaded;
}

std::vector<std::string> archive_keys(torch::serialize::InputArchive& archive) {
  return archive.keys();
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive weights;
  for (const auto& [name, tensor] : named_tensors(model)) weights.write(name, tensor.detach().to(torch::kCPU));
  archive.write("model", weights);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  archive.write("step", c10::IValue(state.step));
  archive.write("epoch", c10::IValue(state.epoch));
  archive.write("position", c10::IValue(state.position));
  archive.write("best_metric", c10::IValue(state.best_metric));
  archive.write("world_size", c10::IValue(state.world_size));
  archive.write("config_yaml", c10::IValue(state.config_yaml));
  write_atomic(path, [&](const std::string& tmp) {
    try {
      archive.save_to(tmp);
    } catch (const c10::Error& e) {
      PAT_FAIL(path, ": cannot write checkpoint (", e.what_without_backtrace(), ")");
    }
  });
}

TrainState load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  PAT_CHECK(fs::exists(path), "checkpoint ", path, ": no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    PAT_FAIL("checkpoint ", path, ": not a PAT checkpoint (", e.what_without_backtrace(), ")");
  }
  torch::serialize::InputArchive weights;
  PAT_CHECK(archive.try_read("model", weights), "checkpoint ", path, ": has no model weights");
  assign(model, read_model_archive(weights, archive_keys(weights)), "checkpoint " + path);
  if (optimizer) {
    torch::serialize::InputArchive opt;
    PAT_CHECK(archive.try_read("optimizer", opt), "checkpoint ", path, ": has no optimizer state");
    optimizer->load(opt);
  }
  TrainState state;
  c10::IValue value;
  auto read = [&](const char* key) {
    PAT_CHECK(archive.try_read(key, value), "checkpoint ", path, ": missing ", key);
    return value;
  };
  state.step = read("step").toInt();
  state.epoch = read("epoch").toInt();
  state.position = read("position").toInt();
  state.best_metric = read("best_metric").toDouble();
  state.world_size = read("world_size").toInt();
  state.config_yaml = read("config_yaml").toStringRef();
  torch::Tensor rng;
  if (archive.try_read("rng_cpu", rng)) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  }
  return state;
}

void save_weights(const std::string& path, const torch::nn::Module& model) {
  auto tensors = named_tensors(model);
  if (fs::path(path).extension() == ".safetensors") {
    write_safetensors(path, tensors, {{"format", "pt"}, {"producer", "pat"}});
    return;
  }
  torch::serialize::OutputArchive archive;
  for (const auto& [name, tensor] : tensors) archive.write(name, tensor.detach().to(torch::kCPU));
  write_atomic(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

std::map<std::string, torch::Tensor> read_weights(const std::string& path) {
  PAT_CHECK(fs::exists(path), "weights ", path, ": no such file");
  if (fs::path(path).extension() == ".safetensors") return read_safetensors(path).tensors;
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    PAT_FAIL("weights ", path, ": not a PAT weights file (", e.what_without_backtrace(), ")");
  }
  torch::serialize::InputArchive nested;
  if (archive.try_read("model", nested)) return read_model_archive(nested, archive_keys(nested));  // a checkpoint
  return read_model_archive(archive, archive_keys(archive));
}

void load_weights(const std::string& path, torch::nn::Module& model) {
  assign(model, read_weights(path), "weights " + path);
}

std::string find_latest_checkpoint(const std::string& dir) {
  if (!fs::is_directory(dir)) return "";
  if (fs::exists(fs::path(dir) / "last.pt")) return (fs::path(dir) / "last.pt").string();
  std::regex pattern("model_(\\d+)\\.pt");
  int64_t best = -1;
  std::string found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern) && std::stoll(m[1]) > best) {
      best = std::stoll(m[1]);
      found = entry.path().string();
    }
  }
  return found;
}

}  // namespace pat::engine
