#include "pat/engine/train/init_weights.h"

#include <map>
#include <sstream>

#include <torch/torch.h>

#include "pat/core/error.h"
#include "pat/core/torch_save.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/model/catseg_checkpoint.h"

namespace pat::engine {
namespace {

std::map<std::string, torch::Tensor> read_any(const std::string& path) {
  if (torch_file_kind(path) == TorchFileKind::kTorchSave) {
    // An official checkpoint (or any torch.save state dict): CAT-Seg names are mapped, others kept.
    auto state = read_torch_state_dict(path, "model");
    bool official = false;
    for (const auto& [name, value] : state.tensors)
      official = official || name.rfind("sem_seg_head.predictor.", 0) == 0;
    if (!official) return state.tensors;
    return model::map_catseg_state_dict(state.tensors).tensors;
  }
  return read_weights(path);
}

/// "a.b.c.d" -> "a.b" (names with fewer parts stay whole).
std::string group_of(const std::string& name) {
  const auto first = name.find('.');
  if (first == std::string::npos) return name;
  const auto second = name.find('.', first + 1);
  return second == std::string::npos ? name : name.substr(0, second);
}

void grouped(std::ostringstream& out, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& n : names) groups[group_of(n)].push_back(n);
  out << "  " << what << ": " << names.size() << " tensors\n";
  for (const auto& [group, members] : groups)
    out << "    " << group << ".*: " << members.size() << " (" << members.front()
        << (members.size() > 1 ? ", ...)" : ")") << "\n";
}

}  // namespace

InitWeightsReport init_weights(torch::nn::Module& model, const std::string& path) {
  auto loaded = read_any(path);
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : model.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers(true)) targets[b.key()] = b.value();
  InitWeightsReport report;
  report.path = path;
  for (const auto& [name, target] : targets) {
    auto it = loaded.find(name);
    if (it == loaded.end()) {
      report.missing.push_back(name);
      continue;
    }
    if (!it->second.sizes().equals(target.sizes())) {
      std::ostringstream s;
      s << "model.init_weights " << path << ": tensor " << name << " has shape " << it->second.sizes()
        << " in the file but " << target.sizes() << " in the model";
      PAT_FAIL(s.str());
    }
    report.loaded.push_back(name);
  }
  for (const auto& [name, value] : loaded)
    if (!targets.count(name)) report.unexpected.push_back(name);
  torch::NoGradGuard no_grad;
  for (const auto& name : report.loaded) targets.at(name).copy_(loaded.at(name));
  return report;
}

std::string format_init_report(const InitWeightsReport& r) {
  std::ostringstream out;
  out << "init_weights " << r.path << ": " << r.loaded.size() << " tensors loaded, " << r.missing.size()
      << " missing (kept at their initial values), " << r.unexpected.size() << " unexpected (not used)\n";
  grouped(out, "missing", r.missing);
  grouped(out, "unexpected", r.unexpected);
  return out.str();
}

}  // namespace pat::engine
