#include "pat/engine/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <optional>
#include <regex>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/core/progress.h"
#include "pat/data/class_list.h"
#include "pat/data/loader.h"
#include "pat/engine/datasets.h"
#include "pat/engine/dist/data_parallel.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/engine/train/init_weights.h"
#include "pat/engine/train/lr_schedule.h"
#include "pat/engine/train/metrics_log.h"
#include "pat/engine/train/signals.h"
#include "pat/model/seg_model.h"
#include "pat/vis/image.h"
#include "pat/vis/panel.h"
#include "pat/vis/plot.h"

namespace fs = std::filesystem;

namespace pat::engine {
namespace {

std::string checkpoint_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "model_%07lld.pt", static_cast<long long>(step));
  return name;
}

/// Points `link` at `target` atomically (a hard link: no copy of a large checkpoint).
void link_atomic(const std::string& target, const std::string& link) {
  const std::string tmp = link + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_hard_link(target, tmp, ec);
  if (ec) fs::copy_file(target, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, link);
}

/// Keeps the newest `keep` periodic checkpoints (last.pt and best.pt are separate files); `remove_all`
/// removes every one of them.
void prune_checkpoints(const std::string& dir, int64_t keep, bool remove_all = false) {
  if (keep <= 0 && !remove_all) return;
  if (remove_all) keep = 0;
  std::regex pattern("model_(\\d+)\\.pt");
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) found.emplace_back(std::stoll(m[1]), entry.path());
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep < found.size(); ++i) fs::remove(found[i].second);
}

void write_plots(const std::string& dir) {
  const auto records = MetricsLog::read(dir + "/metrics.jsonl");
  std::map<std::string, vis::Series> losses;
  vis::Series miou{"val mIoU", {}, {}};
  for (const auto& r : records) {
    const double step = r["step"].get<double>();
    if (r.contains("mIoU")) {
      miou.xs.push_back(step);
      miou.ys.push_back(r["mIoU"].get<double>());
      continue;
    }
    for (const auto& [key, value] : r.items()) {
      if (key == "loss" || key.rfind("loss_", 0) == 0) {
        auto& s = losses[key];
        s.name = key;
        s.xs.push_back(step);
        s.ys.push_back(value.get<double>());
      }
    }
  }
  std::vector<vis::Series> loss_series;
  for (auto& [name, s] : losses) loss_series.push_back(s);
  if (!loss_series.empty()) vis::plot_series(dir + "/loss.png", "training losses", loss_series);
  if (!miou.xs.empty()) {
    vis::PlotOptions o;
    o.y_label = "mIoU (%)";
    vis::plot_series(dir + "/miou.png", "validation mIoU", {miou}, o);
  }
}

}  // namespace

Trainer::Trainer(Config config, torch::Device device, std::shared_ptr<Communicator> comm)
    : config_(std::move(config)), device_(device), comm_(comm ? std::move(comm) : std::make_shared<Communicator>()) {}

TrainResult Trainer::run(const std::string& resume) {
  const auto& t = config_.train;
  const std::string out = t.output_dir;
  Communicator& comm = *comm_;
  const bool main = comm.is_main();
  const int world = comm.size();
  PAT_CHECK(t.batch_size % (t.grad_accum * world) == 0, "train.batch_size: the global batch (", t.batch_size,
            ") must be divisible by train.grad_accum (", t.grad_accum, ") x processes (", world, ")");
  // detectron2's semantics: --resume continues from the newest checkpoint when there is one; a run
  // without it starts from scratch, replacing what an earlier run left in the directory.
  std::string checkpoint = resume == "auto" ? find_latest_checkpoint(out) : resume;
  if (main) {
    ensure_directory(out, "train.output_dir");
    if (checkpoint.empty()) {
      if (!find_latest_checkpoint(out).empty())
        PAT_LOG_WARN(
            "{}: starting a new run; the checkpoints of the previous run there will be replaced "
            "(pass --resume to continue it instead)",
            out);
      for (const char* stale : {"last.pt", "best.pt"}) fs::remove(out + "/" + stale);
      prune_checkpoints(out, 0, /*remove_all=*/true);
    }
    save_config(config_, out + "/config.yaml");
  }

  auto train_set = make_dataset(config_, Split::kTrain);
  auto classes = train_set->class_names();
  PAT_CHECK(static_cast<int64_t>(classes.size()) >= train_set->num_classes() && train_set->num_classes() > 0,
            train_set->name(), ": training needs a class list (data.train_class_file)");
  classes.resize(train_set->num_classes());
  if (main) data::save_class_names(out + "/classes.json", classes);
  std::shared_ptr<data::Dataset> val_set;
  data::TransformPtr val_transform;
  std::vector<std::string> val_classes;
  if (t.eval_period > 0) {
    val_set = make_dataset(config_, Split::kVal);
    val_transform = make_test_transform(config_, *val_set);
    val_classes = val_set->class_names();
    val_classes.resize(val_set->num_classes());
  }

  model::SegModel model(config_.model);
  if (checkpoint.empty() && !config_.model.init_weights.empty()) {
    const auto report = init_weights(*model, config_.model.init_weights);
    if (main) PAT_LOG_INFO("{}", format_init_report(report));
  } else if (checkpoint.empty() && config_.model.clip.weights.empty() && config_.model.clip.arch != "custom" && main) {
    PAT_LOG_WARN("model.clip.weights and model.init_weights are empty: CLIP {} starts from random weights",
                 config_.model.clip.arch);
  }
  model->set_classes(classes);
  place_module(*model, device_, config_.runtime.channels_last);
  model->train();

  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<double> base_lrs;
  std::vector<torch::Tensor> trainable;
  for (const auto& g : model->param_groups()) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(t.lr * g.lr_scale);
    options->weight_decay(g.weight_decay ? t.weight_decay : 0.0).betas({0.9, 0.999}).eps(1e-8);
    groups.emplace_back(g.params, std::move(options));
    base_lrs.push_back(t.lr * g.lr_scale);
    trainable.insert(trainable.end(), g.params.begin(), g.params.end());
  }
  PAT_CHECK(!trainable.empty(), "model: nothing to train (every parameter is frozen)");
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(t.lr));

  TrainState state;
  std::string last_good = "none";
  if (!checkpoint.empty()) {
    state = load_checkpoint(checkpoint, *model, &optimizer);
    last_good = checkpoint;
    PAT_LOG_INFO("resumed from {} at step {}", checkpoint, state.step);
    if (state.world_size != world)
      PAT_LOG_WARN(
          "{} was written by {} process(es), this run has {}: training continues at the same sample of the "
          "data stream with the same global batch, but per-process batches and reduction order differ, so "
          "results will not match an uninterrupted run exactly",
          checkpoint, state.world_size, world);
  }
  state.config_yaml = to_yaml(config_);
  state.world_size = world;
  // Every rank starts from rank 0's model and keeps one codebook.
  broadcast_module(comm, *model);
  if (model->pat) sync_codebooks(comm, *model->pat->tokenizer());

  data::LoaderOptions lo;
  lo.batch_size = t.batch_size / (t.grad_accum * world);
  lo.num_workers = static_cast<int>(config_.data.workers);
  lo.prefetch_batches = static_cast<int>(config_.data.prefetch);
  lo.shuffle = true;
  lo.seed = static_cast<uint64_t>(config_.runtime.seed);
  lo.repeat = true;
  lo.rank = comm.rank();
  lo.world_size = world;
  lo.start = {state.epoch, state.position};
  data::Loader loader(train_set, make_train_transform(config_), lo);

  std::optional<MetricsLog> metrics;
  if (main) metrics.emplace(out + "/metrics.jsonl", state.step);
  LrScheduleOptions schedule;
  schedule.kind = t.schedule;
  schedule.max_iter = t.max_iter;
  schedule.warmup_iters = t.warmup_iters;
  schedule.poly_power = t.poly_power;

  TrainResult result;
  result.best_miou = state.best_metric;
  auto save = [&](const std::string& name) {
    if (main) save_checkpoint(out + "/" + name, *model, &optimizer, state);
    if (name != "best.pt") last_good = out + "/" + name;
  };
  const std::string previews = out + "/predictions";
  auto validate = [&](bool final_pass) {
    model->set_classes(val_classes);
    EvaluateOptions eo;
    eo.label = "val";
    eo.progress = ::isatty(STDERR_FILENO) != 0;
    eo.comm = &comm;
    if (final_pass && main) {
      ensure_directory(previews, "predictions directory");
      eo.on_prediction = [&](int64_t i, const torch::Tensor& image, const torch::Tensor& gt,
                             const torch::Tensor& pred) {
        if (i < 6)
          vis::write_png(previews + "/val_" + std::to_string(i) + ".png",
                         vis::prediction_panel(image, gt, pred, static_cast<int64_t>(val_classes.size()), val_classes));
      };
    }
    BenchmarkResult r;
    {
      Autocast autocast(device_, config_.runtime.precision);
      r = evaluate(*model, *val_set, val_transform, config_.eval, eo);
    }
    model->set_classes(classes);
    model->train();
    const double miou = r.metrics.miou;
    if (metrics)
      metrics->write({{"step", state.step},
                      {"mIoU", miou},
                      {"fwIoU", r.metrics.fwiou},
                      {"pACC", r.metrics.pacc},
                      {"mACC", r.metrics.macc}});
    PAT_LOG_INFO("step {}: val mIoU {:.2f}  fwIoU {:.2f}  pACC {:.2f}  mACC {:.2f}", state.step, miou, r.metrics.fwiou,
                 r.metrics.pacc, r.metrics.macc);
    result.last_miou = miou;
    if (miou > state.best_metric) {
      state.best_metric = miou;
      result.best_miou = miou;
      save("best.pt");
    }
  };

  install_stop_handlers();
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  Progress progress(t.max_iter, "train", tty && main);
  progress.set(state.step);
  std::map<std::string, double> sums;
  int64_t window_steps = 0, window_images = 0;
  auto window_start = std::chrono::steady_clock::now();
  const auto run_start = window_start;
  const int64_t first_step = state.step;
  bool stop = false;  // agreed by all ranks at the end of the previous step

  while (state.step < t.max_iter) {
    if (stop) {
      save("last.pt");
      result.interrupted = true;
      result.signal = stop_signal() ? stop_signal() : SIGTERM;
      PAT_LOG_WARN("stopped by signal {} at step {}; checkpoint {} written (continue with --resume)", result.signal,
                   state.step, last_good);
      break;
    }
    const double multiplier = lr_multiplier(schedule, state.step);
    for (size_t i = 0; i < optimizer.param_groups().size(); ++i)
      static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[i].options()).lr(base_lrs[i] * multiplier);
    optimizer.zero_grad();
    std::map<std::string, double> stats;
    for (int64_t micro = 0; micro < t.grad_accum; ++micro) {
      auto batch = loader.next();
      PAT_ASSERT(batch.has_value(), "the repeating loader ended");
      model::SegModelOutput output;
      {
        Autocast autocast(device_, config_.runtime.precision);
        output = model->forward(batch->images.to(device_), batch->labels.to(device_), train_set->ignore_label());
      }
      if (loss_hook) loss_hook(state.step + 1, output.losses);
      // One small all-reduce per micro-batch: the loss terms and statistics averaged over ranks, and
      // whether any rank was asked to stop. Every rank then takes the same decisions.
      auto total = torch::zeros({}, output.logits.options().dtype(torch::kFloat32));
      std::vector<double> values;
      for (const auto& [name, term] : output.losses) {
        values.push_back(term.item<double>());
        total = total + term.to(torch::kFloat32);
      }
      values.push_back(total.item<double>());
      for (const auto& [k, v] : output.stats) values.push_back(v);
      values.push_back(stop_requested() ? 1.0 : 0.0);
      auto shared = torch::tensor(values, torch::kFloat64);
      comm.all_reduce_sum(shared);
      auto agreed = shared.accessor<double, 1>();
      size_t k = 0;
      for (const auto& [name, term] : output.losses) {
        const double value = agreed[static_cast<int64_t>(k++)] / world;
        PAT_CHECK(std::isfinite(value), "step ", state.step + 1, ": loss term \"", name, "\" is ", value,
                  "; stopping without saving (last good checkpoint: ", last_good, ")");
        sums["loss_" + name] += value / t.grad_accum;
      }
      sums["loss"] += agreed[static_cast<int64_t>(k++)] / world / t.grad_accum;
      for (const auto& [name, v] : output.stats) stats[name] = agreed[static_cast<int64_t>(k++)] / world;
      stop = stop || agreed[static_cast<int64_t>(k)] > 0;
      (total / static_cast<double>(t.grad_accum)).backward();
      state.epoch = batch->state.epoch;
      state.position = batch->state.position;
      window_images += batch->images.size(0) * world;
    }
    average_gradients(comm, trainable);
    if (t.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(trainable, t.clip_grad_norm);
    optimizer.step();
    ++state.step;
    ++window_steps;

    if (state.step % t.log_period == 0 || state.step == t.max_iter) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      nlohmann::json record = {{"step", state.step}, {"lr", t.lr * multiplier}};
      for (const auto& [k, v] : sums) record[k] = v / window_steps;
      for (const auto& [k, v] : stats) record[k] = v;
      const double images_per_s = seconds > 0 ? window_images / seconds : 0;
      record["images_per_s"] = images_per_s;
      if (metrics) metrics->write(record);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      const double eta = elapsed / static_cast<double>(state.step - first_step) * (t.max_iter - state.step);
      std::string text = fmt::format("loss {:.4f}", record["loss"].get<double>());
      for (const auto& [k, v] : sums)
        if (k != "loss") text += fmt::format(" {} {:.4f}", k.substr(5), v / window_steps);
      for (const auto& [k, v] : stats) text += fmt::format(" {} {:.3g}", k, v);
      text += fmt::format(" lr {:.2e} {:.1f} img/s", t.lr * multiplier, images_per_s);
      if (tty) {
        progress.set(state.step, text);
      } else {
        PAT_LOG_INFO("step {}/{} {} ETA {}", state.step, t.max_iter, text, format_duration(eta));
      }
      sums.clear();
      window_steps = window_images = 0;
      window_start = std::chrono::steady_clock::now();
    } else if (tty) {
      progress.set(state.step);
    }
    if (state.step % t.checkpoint_period == 0) {
      save(checkpoint_name(state.step));
      if (main) {
        link_atomic(out + "/" + checkpoint_name(state.step), out + "/last.pt");
        prune_checkpoints(out, t.keep_checkpoints);
      }
    }
    if (val_set && state.step % t.eval_period == 0 && state.step < t.max_iter) validate(false);
  }
  progress.finish();
  result.step = state.step;
  if (world > 1) {
    PAT_CHECK(module_agrees_across_ranks(comm, *model), "distributed: after step ", state.step,
              " the ranks hold different parameters or buffers (codebooks included); this is a bug in PAT");
    PAT_LOG_INFO("distributed: all {} ranks hold identical parameters and buffers (codebooks included)", world);
  }
  if (!result.interrupted) {
    if (val_set) validate(true);
    if (state.step % t.checkpoint_period != 0) save("last.pt");
    result.final_weights = out + "/model_final.pt";
    if (main) {
      save_weights(out + "/model_final.pt", *model);
      save_weights(out + "/model_final.safetensors", *model);
      PAT_LOG_INFO("done: {} steps; weights {} (and .safetensors)", state.step, result.final_weights);
    }
  }
  if (main) write_plots(out);
  return result;
}

}  // namespace pat::engine
