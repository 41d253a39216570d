#include "pat/clip/weights.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/runtime.h"
#include "pat/core/safetensors.h"
#include "pat/core/strings.h"

namespace pat::clip {
namespace {

const std::set<std::string> kArchiveBuffers = {"input_resolution", "context_length", "vocab_size"};

/// Names never loaded: the archive's integer buffers and a stored causal mask.
bool ignored_name(const std::string& name) {
  return kArchiveBuffers.count(name) || ends_with(name, "attn_mask");
}

std::string shape_string(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

/// "a, b, c and 4 more"
std::string name_list(const std::vector<std::string>& names, size_t limit = 12) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

enum class Format { kZip, kSafetensors, kUnknown };

Format sniff(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PAT_CHECK(in.good(), "CLIP weights: cannot open \"", path, "\" (file missing or unreadable)");
  char head[9] = {};
  in.read(head, sizeof head);
  const auto got = in.gcount();
  if (got >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return Format::kZip;
  if (got == 9 && head[8] == '{') return Format::kSafetensors;
  return Format::kUnknown;
}

void add_tensor(ClipWeights& out, const std::string& name, const torch::Tensor& value, const std::string& prefix) {
  if (!prefix.empty()) {
    if (name.compare(0, prefix.size(), prefix) != 0) return;
    const std::string stripped = name.substr(prefix.size());
    if (kArchiveBuffers.count(stripped)) return;
    out[stripped] = value.is_floating_point() ? value.to(torch::kFloat32).contiguous() : value;
    return;
  }
  if (kArchiveBuffers.count(name)) return;
  out[name] = value.is_floating_point() ? value.to(torch::kFloat32).contiguous() : value;
}

ClipWeights read_archive(const std::string& path, const std::string& prefix) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    PAT_FAIL("CLIP weights: \"", path, "\" is a zip file but not a readable TorchScript archive (a torch.save ",
             "checkpoint? export it as safetensors): ", first_line(e.what_without_backtrace()));
  }
  ClipWeights out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) add_tensor(out, p.name, p.value, prefix);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) add_tensor(out, b.name, b.value, prefix);
  return out;
}

}  // namespace

ClipWeights load_clip_weights(const std::string& path, const std::string& prefix) {
  ClipWeights out;
  switch (sniff(path)) {
    case Format::kZip:
      out = read_archive(path, prefix);
      break;
    case Format::kSafetensors:
      for (const auto& [name, value] : read_safetensors(path).tensors) add_tensor(out, name, value, prefix);
      break;
    case Format::kUnknown:
      PAT_FAIL(
          "CLIP weights: \"", path,
          "\" is not a CLIP weights file (expected a TorchScript archive as OpenAI released them, or safetensors)");
  }
  PAT_CHECK(!out.empty(), "CLIP weights: \"", path, "\" holds no tensors",
            prefix.empty() ? std::string() : " with the prefix \"" + prefix + "\"");
  PAT_LOG_DEBUG("CLIP weights: read {} tensors from {}", out.size(), path);
  return out;
}

void load_weights_into(ClipModelImpl& model, const ClipWeights& weights, bool strict) {
  // Split packed attention projections into the model's q/k/v names.
  ClipWeights expanded;
  std::vector<std::string> bad_shape;
  for (const auto& [name, value] : weights) {
    const std::string packed = "in_proj_weight";
    if (ends_with(name, ".attn." + packed)) {
      const std::string base = name.substr(0, name.size() - packed.size());
      if (value.dim() != 2 || value.size(0) != 3 * value.size(1)) {
        bad_shape.push_back(name + " " + shape_string(value) + " (expected [3D, D])");
        continue;
      }
      auto parts = value.chunk(3, 0);
      const char* names[] = {"q_proj_weight", "k_proj_weight", "v_proj_weight"};
      for (int i = 0; i < 3; ++i) expanded.emplace(base + names[i], parts[i]);  // explicit split names win
    } else {
      expanded[name] = value;
    }
  }
  std::vector<std::string> missing, unexpected;
  std::set<std::string> used;
  auto params = model.named_parameters(/*recurse=*/true);
  for (const auto& item : params) {
    auto it = expanded.find(item.key());
    if (it == expanded.end()) {
      missing.push_back(item.key());
      continue;
    }
    used.insert(item.key());
    if (!it->second.sizes().equals(item.value().sizes()))
      bad_shape.push_back(item.key() + " " + shape_string(it->second) + " (model " + shape_string(item.value()) + ")");
  }
  for (const auto& [name, value] : expanded)
    if (!used.count(name) && !ignored_name(name)) unexpected.push_back(name);
  std::string problems;
  auto add = [&](const std::vector<std::string>& names, const char* what) {
    if (names.empty()) return;
    problems += (problems.empty() ? "" : "; ") + std::to_string(names.size()) + " " + what + ": " + name_list(names);
  };
  add(missing, "missing");
  add(bad_shape, "with the wrong shape");
  if (strict) add(unexpected, "unexpected");
  PAT_CHECK(problems.empty(), "CLIP weights do not fit the model (", to_string(model.architecture()), "): ", problems);
  if (!unexpected.empty())
    PAT_LOG_WARN("CLIP weights: ignored {} unexpected tensors: {}", unexpected.size(), name_list(unexpected));
  torch::NoGradGuard no_grad;
  for (auto& item : params) item.value().copy_(expanded.at(item.key()));
}

ClipWeights clip_state_dict(const ClipModelImpl& model) {
  ClipWeights out;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) out[item.key()] = item.value().detach();
  return out;
}

ClipModel load_clip(const std::string& path, const ClipLoadOptions& options) {
  auto weights = load_clip_weights(path, options.prefix);
  auto architecture = infer_clip_architecture(weights, options.head_dim);
  ClipModel model(architecture);
  load_weights_into(*model, weights, /*strict=*/true);
  model->to(resolve_device(options.device), options.dtype);
  model->eval();
  PAT_LOG_INFO("CLIP: loaded {} ({})", path, to_string(architecture));
  return model;
}

}  // namespace pat::clip
