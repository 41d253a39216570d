// The one place that reads YAML. Each config struct is described once (name, type, bounds) by a
// `describe_*` function below; parsing, strict key checking, overrides and printing all walk those
// descriptions.
#include "pat/config/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "pat/core/error.h"
#include "pat/core/fs.h"

namespace fs = std::filesystem;

namespace pat {
namespace {

enum class Bound { kAny, kPositive, kNonNegative, kUnit };

/// Where each key path came from (file name or the `--set` override), for error messages.
class Origins {
 public:
  explicit Origins(std::string fallback) : fallback_(std::move(fallback)) {}
  void record(const YAML::Node& node, const std::string& prefix, const std::string& origin) {
    if (!prefix.empty()) by_path_[prefix] = origin;
    if (!node.IsMap()) return;
    for (const auto& kv : node) {
      const auto key = kv.first.Scalar();
      if (prefix.empty() && key == "_base_") continue;
      record(kv.second, prefix.empty() ? key : prefix + "." + key, origin);
    }
  }
  const std::string& of(std::string path) const {
    while (true) {
      auto it = by_path_.find(path);
      if (it != by_path_.end()) return it->second;
      auto dot = path.rfind('.');
      if (dot == std::string::npos) return fallback_;
      path.resize(dot);
    }
  }

 private:
  std::string fallback_;
  std::map<std::string, std::string> by_path_;
};

std::string describe_node(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  std::strtod(s.c_str(), &end);
  if (!s.empty() && end && *end == '\0' && errno == 0) return s;
  return "\"" + s + "\"";
}

class Fields;
using Describe = std::function<void(Fields&)>;

struct Field {
  std::string name;
  std::function<void(const YAML::Node&, const std::string& where)> parse;  // where = "origin: path"
  std::function<void(YAML::Emitter&)> emit;
  Describe children;  // set for sections
};

bool parse_int(const YAML::Node& node, int64_t& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) return false;
  out = v;
  return true;
}

bool parse_double(const YAML::Node& node, double& out) {
  if (!node.IsScalar()) return false;
  const std::string& s = node.Scalar();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool within(double v, Bound b) {
  switch (b) {
    case Bound::kPositive:
      return v > 0;
    case Bound::kNonNegative:
      return v >= 0;
    case Bound::kUnit:
      return v >= 0 && v <= 1;
    default:
      return true;
  }
}

std::string expected(const char* kind, Bound b) {
  switch (b) {
    case Bound::kPositive:
      return std::string("a positive ") + kind;
    case Bound::kNonNegative:
      return std::string("a non-negative ") + kind;
    case Bound::kUnit:
      return std::string("a ") + kind + " in [0, 1]";
    default:
      return std::string(std::string("aeiou").find(kind[0]) != std::string::npos ? "an " : "a ") + kind;
  }
}

class Fields {
 public:
  template <typename Int>
  void integer(const char* name, Int& value, Bound bound = Bound::kAny) {
    add(
        name,
        [&value, bound](const YAML::Node& node, const std::string& where) {
          int64_t v = 0;
          PAT_CHECK(parse_int(node, v) && within(static_cast<double>(v), bound), where, ": expected ",
                    expected("integer", bound), ", got ", describe_node(node));
          value = static_cast<Int>(v);
        },
        [&value](YAML::Emitter& out) { out << static_cast<int64_t>(value); });
  }

  void number(const char* name, double& value, Bound bound = Bound::kAny) {
    add(
        name,
        [&value, bound](const YAML::Node& node, const std::string& where) {
          double v = 0;
          PAT_CHECK(parse_double(node, v) && within(v, bound), where, ": expected ", expected("number", bound),
                    ", got ", describe_node(node));
          value = v;
        },
        [&value](YAML::Emitter& out) { out << value; });
  }

  void boolean(const char* name, bool& value) {
    add(
        name,
        [&value](const YAML::Node& node, const std::string& where) {
          std::string s = node.IsScalar() ? node.Scalar() : "";
          for (auto& c : s) c = static_cast<char>(std::tolower(c));
          if (s == "true" || s == "yes" || s == "on") {
            value = true;
          } else if (s == "false" || s == "no" || s == "off") {
            value = false;
          } else {
            PAT_FAIL(where, ": expected true or false, got ", describe_node(node));
          }
        },
        [&value](YAML::Emitter& out) { out << value; });
  }

  void text(const char* name, std::string& value, std::vector<std::string> choices = {}) {
    add(
        name,
        [&value, choices](const YAML::Node& node, const std::string& where) {
          PAT_CHECK(node.IsScalar() || node.IsNull(), where, ": expected a string, got ", describe_node(node));
          std::string v = node.IsNull() ? "" : node.Scalar();
          if (!choices.empty()) {
            bool ok = false;
            std::string list;
            for (const auto& c : choices) {
              ok = ok || c == v;
              list += (list.empty() ? "" : " | ") + c;
            }
            PAT_CHECK(ok, where, ": expected one of ", list, ", got \"", v, "\"");
          }
          value = v;
        },
        [&value](YAML::Emitter& out) { out << YAML::DoubleQuoted << value; });
  }

  void integers(const char* name, std::vector<int64_t>& value, Bound bound = Bound::kAny) {
    add(
        name,
        [&value, bound](const YAML::Node& node, const std::string& where) {
          PAT_CHECK(node.IsSequence(), where, ": expected a list of integers, got ", describe_node(node));
          std::vector<int64_t> parsed;
          for (size_t i = 0; i < node.size(); ++i) {
            int64_t v = 0;
            PAT_CHECK(parse_int(node[i], v) && within(static_cast<double>(v), bound), where, "[", i, "]: expected ",
                      expected("integer", bound), ", got ", describe_node(node[i]));
            parsed.push_back(v);
          }
          value = parsed;
        },
        [&value](YAML::Emitter& out) {
          out << YAML::Flow << YAML::BeginSeq;
          for (auto v : value) out << v;
          out << YAML::EndSeq;
        });
  }

  void strings(const char* name, std::vector<std::string>& value) {
    add(
        name,
        [&value](const YAML::Node& node, const std::string& where) {
          PAT_CHECK(node.IsSequence(), where, ": expected a list of strings, got ", describe_node(node));
          std::vector<std::string> parsed;
          for (size_t i = 0; i < node.size(); ++i) {
            PAT_CHECK(node[i].IsScalar(), where, "[", i, "]: expected a string, got ", describe_node(node[i]));
            parsed.push_back(node[i].Scalar());
          }
          value = parsed;
        },
        [&value](YAML::Emitter& out) {
          out << YAML::Flow << YAML::BeginSeq;
          for (const auto& v : value) out << YAML::DoubleQuoted << v;
          out << YAML::EndSeq;
        });
  }

  void section(const char* name, Describe children) { fields_.push_back(Field{name, {}, {}, std::move(children)}); }

  const std::vector<Field>& fields() const { return fields_; }

 private:
  void add(const char* name, std::function<void(const YAML::Node&, const std::string&)> parse,
           std::function<void(YAML::Emitter&)> emit) {
    fields_.push_back(Field{name, std::move(parse), std::move(emit), {}});
  }
  std::vector<Field> fields_;
};

// ---- The descriptions: one line per field ----------------------------------------------------------

const std::vector<std::string> kArchs = {"ViT-B-16", "ViT-B-32", "ViT-L-14", "ViT-L-14-336", "custom"};

void describe_runtime(Fields& f, RuntimeConfig& c) {
  f.text("device", c.device);
  f.integer("threads", c.threads, Bound::kNonNegative);
  f.integer("cpu_cache_mb", c.cpu_cache_mb, Bound::kNonNegative);
  f.integer("seed", c.seed, Bound::kNonNegative);
  f.text("log_level", c.log_level, {"trace", "debug", "info", "warn", "error", "off"});
  f.text("precision", c.precision, {"fp32", "bf16"});
  f.boolean("tf32", c.tf32);
  f.boolean("channels_last", c.channels_last);
  f.text("dist_backend", c.dist_backend, {"auto", "gloo", "nccl"});
  f.integer("dist_timeout", c.dist_timeout, Bound::kPositive);
}

void describe_clip(Fields& f, ClipConfig& c) {
  f.text("arch", c.arch, kArchs);
  f.text("weights", c.weights);
  f.text("tokenizer", c.tokenizer, {"bpe", "byte"});
  f.text("vocab", c.vocab);
  f.integer("image_size", c.image_size, Bound::kPositive);
  f.text("finetune", c.finetune, {"attention", "frozen", "full"});
  f.integers("taps", c.taps, Bound::kNonNegative);
  f.text("templates", c.templates, {"single", "imagenet", "imagenet_select"});
  f.integer("context_length", c.context_length, Bound::kPositive);
  f.integer("vision_width", c.vision_width, Bound::kPositive);
  f.integer("vision_layers", c.vision_layers, Bound::kPositive);
  f.integer("vision_patch", c.vision_patch, Bound::kPositive);
  f.integer("text_width", c.text_width, Bound::kPositive);
  f.integer("text_layers", c.text_layers, Bound::kPositive);
  f.integer("embed_dim", c.embed_dim, Bound::kPositive);
  f.integer("head_width", c.head_width, Bound::kPositive);
}

void describe_head(Fields& f, HeadConfig& c) {
  f.integer("text_guidance_proj_dim", c.text_guidance_proj_dim, Bound::kPositive);
  f.integer("appearance_guidance_proj_dim", c.appearance_guidance_proj_dim, Bound::kPositive);
  f.integers("decoder_dims", c.decoder_dims, Bound::kPositive);
  f.integers("decoder_guidance_dims", c.decoder_guidance_dims, Bound::kPositive);
  f.integers("decoder_guidance_proj_dims", c.decoder_guidance_proj_dims, Bound::kPositive);
  f.integer("num_layers", c.num_layers, Bound::kPositive);
  f.integer("num_heads", c.num_heads, Bound::kPositive);
  f.integer("hidden_dim", c.hidden_dim, Bound::kPositive);
  f.integer("window_size", c.window_size, Bound::kPositive);
  f.integers("pooling_sizes", c.pooling_sizes, Bound::kPositive);
  f.integer("pad_len", c.pad_len, Bound::kNonNegative);
}

void describe_pat(Fields& f, PatConfig& c) {
  f.boolean("enabled", c.enabled);
  f.integers("levels", c.levels, Bound::kNonNegative);
  f.integer("code_dim", c.code_dim, Bound::kPositive);
  f.integer("codebook_size", c.codebook_size, Bound::kPositive);
  f.text("quantizer", c.quantizer, {"ema", "loss"});
  f.number("ema_decay", c.ema_decay, Bound::kUnit);
  f.integer("dead_code_steps", c.dead_code_steps, Bound::kNonNegative);
  f.boolean("decoupled", c.decoupled);
  f.text("fusion", c.fusion, {"shared", "per_level"});
  f.integer("fusion_dim", c.fusion_dim, Bound::kPositive);
  f.text("decoder_resolution", c.decoder_resolution, {"full", "half"});
  f.integers("decoder_dims", c.decoder_dims, Bound::kPositive);
  f.boolean("aux_enabled", c.aux_enabled);
  f.number("commitment_weight", c.commitment_weight, Bound::kNonNegative);
  f.number("reconstruction_weight", c.reconstruction_weight, Bound::kNonNegative);
  f.number("aux_weight", c.aux_weight, Bound::kNonNegative);
  f.boolean("compose", c.compose);
  f.number("codebook_weight", c.codebook_weight, Bound::kNonNegative);
  f.number("aux_logit_scale", c.aux_logit_scale, Bound::kPositive);
  f.number("aux_logit_bias", c.aux_logit_bias, Bound::kAny);
}

void describe_model(Fields& f, ModelConfig& c) {
  f.section("clip", [&c](Fields& s) { describe_clip(s, c.clip); });
  f.section("head", [&c](Fields& s) { describe_head(s, c.head); });
  f.section("pat", [&c](Fields& s) { describe_pat(s, c.pat); });
  f.number("clip_lr_multiplier", c.clip_lr_multiplier, Bound::kNonNegative);
  f.text("init_weights", c.init_weights);
}

void describe_data(Fields& f, DataConfig& c) {
  f.text("root", c.root);
  f.text("train_dataset", c.train_dataset);
  f.text("val_dataset", c.val_dataset);
  f.text("train_class_file", c.train_class_file);
  f.text("val_class_file", c.val_class_file);
  f.text("train_images", c.train_images);
  f.text("train_labels", c.train_labels);
  f.text("val_images", c.val_images);
  f.text("val_labels", c.val_labels);
  f.integer("ignore_label", c.ignore_label, Bound::kNonNegative);
  f.integer("crop_size", c.crop_size, Bound::kPositive);
  f.integer("train_min_size", c.train_min_size, Bound::kNonNegative);
  f.boolean("color_jitter", c.color_jitter);
  f.boolean("flip", c.flip);
  f.integer("workers", c.workers, Bound::kNonNegative);
  f.integer("prefetch", c.prefetch, Bound::kPositive);
  f.integer("synthetic_train", c.synthetic_train, Bound::kPositive);
  f.integer("synthetic_val", c.synthetic_val, Bound::kPositive);
  f.integer("synthetic_size", c.synthetic_size, Bound::kPositive);
  f.strings("synthetic_classes", c.synthetic_classes);
  f.integer("synthetic_min_shapes", c.synthetic_min_shapes, Bound::kNonNegative);
  f.integer("synthetic_max_shapes", c.synthetic_max_shapes, Bound::kNonNegative);
  f.number("synthetic_min_shape_scale", c.synthetic_min_shape_scale, Bound::kPositive);
  f.number("synthetic_max_shape_scale", c.synthetic_max_shape_scale, Bound::kPositive);
  f.integer("synthetic_geometry_variants", c.synthetic_geometry_variants, Bound::kPositive);
  f.number("synthetic_object_views", c.synthetic_object_views, Bound::kUnit);
  f.strings("synthetic_train_classes", c.synthetic_train_classes);
  f.strings("synthetic_val_classes", c.synthetic_val_classes);
}

void describe_train(Fields& f, TrainConfig& c) {
  f.text("output_dir", c.output_dir);
  f.integer("max_iter", c.max_iter, Bound::kPositive);
  f.integer("batch_size", c.batch_size, Bound::kPositive);
  f.integer("grad_accum", c.grad_accum, Bound::kPositive);
  f.number("lr", c.lr, Bound::kPositive);
  f.number("weight_decay", c.weight_decay, Bound::kNonNegative);
  f.number("adam_beta2", c.adam_beta2, Bound::kUnit);
  f.number("adam_eps", c.adam_eps, Bound::kPositive);
  f.number("clip_grad_norm", c.clip_grad_norm, Bound::kNonNegative);
  f.text("schedule", c.schedule, {"cosine", "poly", "constant"});
  f.number("poly_power", c.poly_power, Bound::kPositive);
  f.integer("warmup_iters", c.warmup_iters, Bound::kNonNegative);
  f.integer("checkpoint_period", c.checkpoint_period, Bound::kNonNegative);
  f.integer("eval_period", c.eval_period, Bound::kNonNegative);
  f.integer("log_period", c.log_period, Bound::kPositive);
  f.integer("keep_checkpoints", c.keep_checkpoints, Bound::kNonNegative);
  f.text("clip_grad_mode", c.clip_grad_mode, {"global", "per_group"});
}

void describe_eval(Fields& f, EvalConfig& c) {
  f.text("mode", c.mode, {"sliding", "whole"});
  f.integer("kernel", c.kernel, Bound::kPositive);
  f.number("overlap", c.overlap, Bound::kUnit);
  f.integer("out_res", c.out_res, Bound::kPositive);
  f.integer("test_size", c.test_size, Bound::kPositive);
  f.integer("class_chunk", c.class_chunk, Bound::kNonNegative);
  f.text("miou", c.miou, {"gt", "gt_or_pred"});
  f.boolean("save_predictions", c.save_predictions);
}

void describe_infer(Fields& f, InferConfig& c) {
  f.number("threshold", c.threshold, Bound::kUnit);
  f.integer("max_side", c.max_side, Bound::kPositive);
}

void describe_pretrain(Fields& f, PretrainConfig& c) {
  f.number("logit_scale_init", c.logit_scale_init, Bound::kPositive);
  f.number("logit_scale_max", c.logit_scale_max, Bound::kPositive);
  f.integer("val_scenes", c.val_scenes, Bound::kPositive);
  f.integer("val_crops", c.val_crops, Bound::kPositive);
  f.integer("window_captions", c.window_captions, Bound::kNonNegative);
  f.number("window_loss_weight", c.window_loss_weight, Bound::kNonNegative);
}

void describe_config(Fields& f, Config& c) {
  f.section("model", [&c](Fields& s) { describe_model(s, c.model); });
  f.section("data", [&c](Fields& s) { describe_data(s, c.data); });
  f.section("train", [&c](Fields& s) { describe_train(s, c.train); });
  f.section("eval", [&c](Fields& s) { describe_eval(s, c.eval); });
  f.section("infer", [&c](Fields& s) { describe_infer(s, c.infer); });
  f.section("pretrain", [&c](Fields& s) { describe_pretrain(s, c.pretrain); });
  f.section("runtime", [&c](Fields& s) { describe_runtime(s, c.runtime); });
}

// ---- Walking the descriptions ----------------------------------------------------------------------

void parse_section(const Describe& describe, const YAML::Node& node, const std::string& prefix,
                   const Origins& origins) {
  Fields fields;
  describe(fields);
  PAT_CHECK(node.IsMap() || node.IsNull(), origins.of(prefix), ": ", prefix.empty() ? "top level" : prefix,
            ": expected a mapping, got ", describe_node(node));
  if (node.IsNull()) return;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (prefix.empty() && key == "_base_") continue;
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const Field* field = nullptr;
    std::string known;
    for (const auto& candidate : fields.fields()) {
      if (candidate.name == key) field = &candidate;
      known += (known.empty() ? "" : ", ") + candidate.name;
    }
    PAT_CHECK(field != nullptr, origins.of(path), ": ", path, ": unknown key (known keys here: ", known, ")");
    if (field->children) {
      parse_section(field->children, kv.second, path, origins);
    } else {
      field->parse(kv.second, origins.of(path) + ": " + path);
    }
  }
}

void emit_section(const Describe& describe, YAML::Emitter& out) {
  Fields fields;
  describe(fields);
  out << YAML::BeginMap;
  for (const auto& field : fields.fields()) {
    out << YAML::Key << field.name << YAML::Value;
    if (field.children) {
      emit_section(field.children, out);
    } else {
      field.emit(out);
    }
  }
  out << YAML::EndMap;
}

/// Recursively merges `child` into `base` (child wins; mappings merge, everything else replaces).
void merge_into(YAML::Node base, const YAML::Node& child) {
  for (const auto& kv : child) {
    const std::string key = kv.first.Scalar();
    YAML::Node existing = base[key];
    if (existing.IsMap() && kv.second.IsMap()) {
      merge_into(existing, kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& origin) {
  try {
    YAML::Node node = YAML::Load(text);
    PAT_CHECK(node.IsMap() || node.IsNull(), origin, ": expected a YAML mapping at the top level");
    return node.IsNull() ? YAML::Node(YAML::NodeType::Map) : node;
  } catch (const YAML::Exception& e) {
    PAT_FAIL(origin, ": invalid YAML at line ", e.mark.line + 1, ", column ", e.mark.column + 1, ": ", e.msg);
  }
}

/// Resolves `_base_` of an already parsed document; `stack` holds the files being loaded (cycle check).
YAML::Node resolve_bases(const YAML::Node& doc, const std::string& origin, const fs::path& base_dir,
                         std::vector<std::string>& stack, Origins& origins);

YAML::Node load_file(const std::string& path, std::vector<std::string>& stack, Origins& origins) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  const std::string key = ec ? path : canonical.string();
  for (const auto& open : stack) {
    if (open == key) {
      std::string chain;
      for (const auto& s : stack) chain += s + " -> ";
      PAT_FAIL(path, ": _base_ cycle: ", chain, key);
    }
  }
  const std::string text = read_file(path, "config file");
  stack.push_back(key);
  YAML::Node merged = resolve_bases(parse_yaml(text, path), path, fs::path(path).parent_path(), stack, origins);
  stack.pop_back();
  return merged;
}

YAML::Node resolve_bases(const YAML::Node& doc, const std::string& origin, const fs::path& base_dir,
                         std::vector<std::string>& stack, Origins& origins) {
  YAML::Node merged(YAML::NodeType::Map);
  if (doc["_base_"]) {
    const YAML::Node bases = doc["_base_"];
    std::vector<std::string> paths;
    if (bases.IsScalar()) {
      paths.push_back(bases.Scalar());
    } else {
      PAT_CHECK(bases.IsSequence(), origin, ": _base_: expected a file name or a list of file names, got ",
                describe_node(bases));
      for (const auto& b : bases) {
        PAT_CHECK(b.IsScalar(), origin, ": _base_: expected file names, got ", describe_node(b));
        paths.push_back(b.Scalar());
      }
    }
    for (const auto& p : paths) {
      fs::path resolved = fs::path(p).is_absolute() ? fs::path(p) : base_dir / p;
      PAT_CHECK(fs::exists(resolved), origin, ": _base_: ", resolved.string(), ": no such file");
      merge_into(merged, load_file(resolved.string(), stack, origins));
    }
  }
  YAML::Node own = YAML::Clone(doc);
  own.remove("_base_");
  origins.record(own, "", origin);
  merge_into(merged, own);
  return merged;
}

/// Turns "a.b.c=value" into {a: {b: {c: value}}} (value parsed as YAML: numbers, booleans, [1,2]).
YAML::Node override_node(const std::string& assignment) {
  const auto eq = assignment.find('=');
  PAT_CHECK(eq != std::string::npos && eq > 0, "--set ", assignment, ": expected key.path=value");
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  PAT_CHECK(key.front() != '.' && key.back() != '.' && key.find("..") == std::string::npos &&
                key.find_first_of(" \t") == std::string::npos,
            "--set ", assignment, ": malformed key path \"", key, "\"");
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    PAT_FAIL("--set ", assignment, ": cannot parse value (", e.msg, ")");
  }
  std::stringstream parts(key);
  std::string part;
  std::vector<std::string> names;
  while (std::getline(parts, part, '.')) names.push_back(part);
  // Built from the leaf up: assigning yaml-cpp nodes copies content rather than rebinding handles.
  YAML::Node root = parsed;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = root;
    root = parent;
  }
  return root;
}

/// Checks that involve several fields.
void validate(const Config& c, const std::string& origin) {
  const auto& h = c.model.head;
  PAT_CHECK(h.decoder_dims.size() == 2, origin, ": model.head.decoder_dims: expected 2 values, got ",
            h.decoder_dims.size());
  PAT_CHECK(h.decoder_guidance_dims.size() == 2 && h.decoder_guidance_proj_dims.size() == 2, origin,
            ": model.head.decoder_guidance_dims / decoder_guidance_proj_dims: expected 2 values each");
  PAT_CHECK(static_cast<int64_t>(h.pooling_sizes.size()) == h.num_layers, origin,
            ": model.head.pooling_sizes: expected one value per layer (", h.num_layers, "), got ",
            h.pooling_sizes.size());
  PAT_CHECK(h.hidden_dim % h.num_heads == 0, origin, ": model.head.hidden_dim: expected a multiple of num_heads (",
            h.num_heads, "), got ", h.hidden_dim);
  PAT_CHECK(c.model.clip.taps.size() == 2, origin, ": model.clip.taps: expected 2 block indices, got ",
            c.model.clip.taps.size());
  for (auto level : c.model.pat.levels)
    PAT_CHECK(level <= 2, origin, ": model.pat.levels: expected values in {0, 1, 2}, got ", level);
  PAT_CHECK(!c.model.pat.levels.empty(), origin, ": model.pat.levels: expected at least one level");
  PAT_CHECK(c.train.adam_beta2 < 1.0, origin, ": train.adam_beta2: expected a value below 1, got ", c.train.adam_beta2);
  PAT_CHECK(c.eval.overlap < 1.0, origin, ": eval.overlap: expected a value below 1, got ", c.eval.overlap);
  PAT_CHECK(c.pretrain.logit_scale_init <= c.pretrain.logit_scale_max, origin,
            ": pretrain.logit_scale_init: expected at most pretrain.logit_scale_max (", c.pretrain.logit_scale_max,
            "), got ", c.pretrain.logit_scale_init);
  // The split's lists name scene classes (without data.synthetic_classes the dataset checks its catalog).
  const auto& scene = c.data.synthetic_classes;
  for (const auto& [key, subset] : {std::pair{"train", &c.data.synthetic_train_classes},
                                    std::pair{"val", &c.data.synthetic_val_classes}})
    for (const auto& name : *subset)
      PAT_CHECK(scene.empty() || std::find(scene.begin(), scene.end(), name) != scene.end(), origin, ": data.synthetic_",
                key, "_classes: \"", name, "\" is not among data.synthetic_classes");
  PAT_CHECK(c.train.batch_size % c.train.grad_accum == 0, origin,
            ": train.batch_size: expected a multiple of train.grad_accum (", c.train.grad_accum, "), got ",
            c.train.batch_size);
}

Config build(const YAML::Node& tree, const Origins& origins, const std::string& origin) {
  Config config;
  parse_section([&config](Fields& f) { describe_config(f, config); }, tree, "", origins);
  validate(config, origin);
  return config;
}

Config finish(YAML::Node tree, Origins& origins, const std::vector<std::string>& overrides, const std::string& origin) {
  for (const auto& assignment : overrides) {
    YAML::Node node = override_node(assignment);
    origins.record(node, "", "--set " + assignment);
    merge_into(tree, node);
  }
  return build(tree, origins, origin);
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Origins origins(path);
  std::vector<std::string> stack;
  YAML::Node tree = load_file(path, stack, origins);
  return finish(tree, origins, overrides, path);
}

Config parse_config(const std::string& yaml_text, const std::string& origin, const std::string& base_dir) {
  Origins origins(origin);
  std::vector<std::string> stack;
  YAML::Node tree = resolve_bases(parse_yaml(yaml_text, origin), origin, base_dir, stack, origins);
  return finish(tree, origins, {}, origin);
}

Config default_config(const std::vector<std::string>& overrides) {
  Origins origins("defaults");
  return finish(YAML::Node(YAML::NodeType::Map), origins, overrides, "defaults");
}

std::string to_yaml(const Config& config) {
  Config copy = config;
  YAML::Emitter out;
  emit_section([&copy](Fields& f) { describe_config(f, copy); }, out);
  return std::string(out.c_str()) + "\n";
}

void save_config(const Config& config, const std::string& path) {
  write_file_atomic(path, to_yaml(config));
}

}  // namespace pat
