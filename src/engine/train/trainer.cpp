#include "pat/engine/train/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <regex>

#include "pat/core/error.h"
#include "pat/core/fs.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/core/progress.h"
#include "pat/data/loader.h"
#include "pat/engine/dist/data_parallel.h"
#include "pat/engine/train/checkpoint.h"
#include "pat/engine/train/grad_clip.h"
#include "pat/engine/train/lr_schedule.h"
#include "pat/engine/train/metrics_log.h"
#include "pat/engine/train/seg_task.h"
#include "pat/engine/train/signals.h"
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

/// loss.png from the training records; validation.png from the validation records (those holding `keys[0]`).
void write_plots(const std::string& dir, const std::vector<std::string>& keys) {
  const auto records = MetricsLog::read(dir + "/metrics.jsonl");
  std::map<std::string, vis::Series> losses, validation;
  for (const auto& r : records) {
    const double step = r["step"].get<double>();
    const bool is_validation = !keys.empty() && r.contains(keys.front());
    for (const auto& [key, value] : r.items()) {
      const bool wanted = is_validation ? std::find(keys.begin(), keys.end(), key) != keys.end()
                                        : key == "loss" || key.rfind("loss_", 0) == 0;
      if (!wanted || !value.is_number()) continue;
      auto& s = (is_validation ? validation : losses)[key];
      s.name = key;
      s.xs.push_back(step);
      s.ys.push_back(value.get<double>());
    }
  }
  auto series = [](const std::map<std::string, vis::Series>& by_name) {
    std::vector<vis::Series> out;
    for (const auto& [name, s] : by_name) out.push_back(s);
    return out;
  };
  if (!losses.empty()) vis::plot_series(dir + "/loss.png", "training losses", series(losses));
  if (!validation.empty()) vis::plot_series(dir + "/validation.png", "validation", series(validation));
}

/// One training run of a task, split into the steps `Trainer::run` calls in order: prepare (output
/// directory, task, optimizer, resume, loader), then per optimizer step train_step (micro-steps, gradient
/// averaging, clipping, optimizer step), log_step, checkpoint_step and validate_step, and finally finish.
class TrainingRun {
 public:
  using LossHook = std::function<void(int64_t, std::map<std::string, torch::Tensor>&)>;

  TrainingRun(const Config& config, torch::Device device, Communicator& comm, const TaskFactory& make_task,
              const LossHook& loss_hook)
      : config_(config),
        t_(config.train),
        out_(config.train.output_dir),
        device_(device),
        comm_(comm),
        main_(comm.is_main()),
        world_(comm.size()),
        make_task_(make_task),
        loss_hook_(loss_hook) {}

  /// Everything before the first step; `resume` as in `Trainer::run`.
  void prepare(const std::string& resume) {
    prepare_output(resume);
    prepare_model();
    resume_from_checkpoint();
    prepare_loader();
    install_stop_handlers();
    tty_ = ::isatty(STDERR_FILENO) != 0;
    progress_ = std::make_unique<Progress>(t_.max_iter, "train", tty_ && main_);
    progress_->set(state_.step);
    window_start_ = std::chrono::steady_clock::now();
    run_start_ = window_start_;
    first_step_ = state_.step;
  }

  bool finished() const { return state_.step >= t_.max_iter; }
  /// A stop was agreed by all ranks at the end of the previous step.
  bool stop_agreed() const { return stop_; }

  /// Stops on a signal: writes last.pt and records the interruption.
  void stop() {
    save("last.pt");
    result_.interrupted = true;
    result_.signal = stop_signal() ? stop_signal() : SIGTERM;
    PAT_LOG_WARN("stopped by signal {} at step {}; checkpoint {} written (continue with --resume)", result_.signal,
                 state_.step, last_good_);
  }

  /// One optimizer step: learning rate, grad_accum micro-steps, then the update.
  void train_step() {
    set_learning_rate();
    optimizer_->zero_grad();
    step_stats_.clear();
    for (int64_t micro = 0; micro < t_.grad_accum; ++micro) micro_step();
    optimizer_step();
  }

  /// Metrics record and progress line every log_period steps (and at the last step).
  void log_step() {
    if (state_.step % t_.log_period == 0 || state_.step == t_.max_iter) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start_).count();
      nlohmann::json record = {{"step", state_.step}, {"lr", t_.lr * multiplier_}};
      for (const auto& [k, v] : sums_) record[k] = v / window_steps_;
      for (const auto& [k, v] : step_stats_) record[k] = v;
      const double images_per_s = seconds > 0 ? window_images_ / seconds : 0;
      record["images_per_s"] = images_per_s;
      if (metrics_) metrics_->write(record);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start_).count();
      const double eta = elapsed / static_cast<double>(state_.step - first_step_) * (t_.max_iter - state_.step);
      std::string text = fmt::format("loss {:.4f}", record["loss"].get<double>());
      for (const auto& [k, v] : sums_)
        if (k != "loss") text += fmt::format(" {} {:.4f}", k.substr(5), v / window_steps_);
      for (const auto& [k, v] : step_stats_) text += fmt::format(" {} {:.3g}", k, v);
      text += fmt::format(" lr {:.2e} {:.1f} img/s", t_.lr * multiplier_, images_per_s);
      if (tty_) {
        progress_->set(state_.step, text);
      } else {
        PAT_LOG_INFO("step {}/{} {} ETA {}", state_.step, t_.max_iter, text, format_duration(eta));
      }
      sums_.clear();
      window_steps_ = window_images_ = 0;
      window_start_ = std::chrono::steady_clock::now();
    } else if (tty_) {
      progress_->set(state_.step);
    }
  }

  /// Periodic checkpoint (last.pt follows it), pruning the older ones.
  void checkpoint_step() {
    if (t_.checkpoint_period == 0 || state_.step % t_.checkpoint_period != 0) return;  // 0: no periodic checkpoints
    save(checkpoint_name(state_.step));
    if (main_) {
      link_atomic(out_ + "/" + checkpoint_name(state_.step), out_ + "/last.pt");
      prune_checkpoints(out_, t_.keep_checkpoints);
    }
  }

  /// Periodic validation (the last step's is the final pass, in `finish`).
  void validate_step() {
    if (task_->has_validation() && state_.step % t_.eval_period == 0 && state_.step < t_.max_iter) validate(false);
  }

  /// After the last step: agreement check across ranks, final validation, last checkpoint, final weights, plots.
  TrainResult finish() {
    progress_->finish();
    result_.step = state_.step;
    if (world_ > 1) {
      PAT_CHECK(module_agrees_across_ranks(comm_, task_->module()), "distributed: after step ", state_.step,
                " the ranks hold different parameters or buffers (codebooks included); this is a bug in PAT");
      PAT_LOG_INFO("distributed: all {} ranks hold identical parameters and buffers (codebooks included)", world_);
    }
    if (!result_.interrupted) {
      if (task_->has_validation()) validate(true);
      if (t_.checkpoint_period == 0 || state_.step % t_.checkpoint_period != 0) save("last.pt");
      if (main_) {
        result_.final_weights = task_->write_final(out_);
        PAT_LOG_INFO("done: {} steps; weights {}", state_.step, result_.final_weights);
      }
    }
    if (main_) write_plots(out_, task_->plot_keys());
    return result_;
  }

 private:
  /// Checks the batch split, picks the checkpoint to resume, prepares the output directory and config.yaml.
  void prepare_output(const std::string& resume) {
    PAT_CHECK(t_.batch_size % (t_.grad_accum * world_) == 0, "train.batch_size: the global batch (", t_.batch_size,
              ") must be divisible by train.grad_accum (", t_.grad_accum, ") x processes (", world_, ")");
    // detectron2's semantics: --resume continues from the newest checkpoint when there is one; a run
    // without it starts from scratch, replacing what an earlier run left in the directory.
    checkpoint_ = resume == "auto" ? find_latest_checkpoint(out_) : resume;
    if (main_) {
      ensure_directory(out_, "train.output_dir");
      if (checkpoint_.empty()) {
        if (!find_latest_checkpoint(out_).empty())
          PAT_LOG_WARN(
              "{}: starting a new run; the checkpoints of the previous run there will be replaced "
              "(pass --resume to continue it instead)",
              out_);
        for (const char* stale : {"last.pt", "best.pt"}) fs::remove(out_ + "/" + stale);
        prune_checkpoints(out_, 0, /*remove_all=*/true);
      }
      save_config(config_, out_ + "/config.yaml");
    }
  }

  /// The task (model, data) on its device in training mode, and AdamW over its parameter groups.
  void prepare_model() {
    task_ = make_task_(config_, out_, checkpoint_.empty(), main_);
    place_module(task_->module(), device_, config_.runtime.channels_last);
    task_->module().train();

    std::vector<torch::optim::OptimizerParamGroup> groups;
    for (const auto& g : task_->param_groups()) {
      auto options = std::make_unique<torch::optim::AdamWOptions>(t_.lr * g.lr_scale);
      options->weight_decay(g.weight_decay ? t_.weight_decay : 0.0).betas({0.9, t_.adam_beta2}).eps(t_.adam_eps);
      groups.emplace_back(g.params, std::move(options));
      base_lrs_.push_back(t_.lr * g.lr_scale);
      trainable_.insert(trainable_.end(), g.params.begin(), g.params.end());
    }
    PAT_CHECK(!trainable_.empty(), "model: nothing to train (every parameter is frozen)");
    clip_groups_ = grad_clip_groups(task_->module());
    optimizer_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(t_.lr));
  }

  /// Restores the checkpoint (if any), then gives every rank rank 0's model and one codebook.
  void resume_from_checkpoint() {
    if (!checkpoint_.empty()) {
      state_ = load_checkpoint(checkpoint_, task_->module(), optimizer_.get());
      last_good_ = checkpoint_;
      PAT_LOG_INFO("resumed from {} at step {}", checkpoint_, state_.step);
      if (state_.world_size != world_)
        PAT_LOG_WARN(
            "{} was written by {} process(es), this run has {}: training continues at the same sample of the "
            "data stream with the same global batch, but per-process batches and reduction order differ, so "
            "results will not match an uninterrupted run exactly",
            checkpoint_, state_.world_size, world_);
    }
    state_.config_yaml = to_yaml(config_);
    state_.world_size = world_;
    // Every rank starts from rank 0's model and keeps one codebook.
    broadcast_module(comm_, task_->module());
    task_->after_broadcast(comm_);
    result_.best_score = state_.best_metric;
  }

  /// This rank's shard of the data stream from the resumed position; the metrics log; the schedule.
  void prepare_loader() {
    data::LoaderOptions lo;
    lo.batch_size = t_.batch_size / (t_.grad_accum * world_);
    lo.num_workers = static_cast<int>(config_.data.workers);
    lo.prefetch_batches = static_cast<int>(config_.data.prefetch);
    lo.shuffle = true;
    lo.seed = static_cast<uint64_t>(config_.runtime.seed);
    lo.repeat = true;
    lo.rank = comm_.rank();
    lo.world_size = world_;
    lo.start = {state_.epoch, state_.position};
    loader_ = std::make_unique<data::Loader>(task_->train_set(), task_->train_transform(), lo);

    if (main_) metrics_.emplace(out_ + "/metrics.jsonl", state_.step);
    schedule_.kind = t_.schedule;
    schedule_.max_iter = t_.max_iter;
    schedule_.warmup_iters = t_.warmup_iters;
    schedule_.poly_power = t_.poly_power;
  }

  void set_learning_rate() {
    multiplier_ = lr_multiplier(schedule_, state_.step);
    for (size_t i = 0; i < optimizer_->param_groups().size(); ++i)
      static_cast<torch::optim::AdamWOptions&>(optimizer_->param_groups()[i].options()).lr(base_lrs_[i] * multiplier_);
  }

  /// One micro-batch: forward, loss agreement across ranks (NaN check, stop request), backward.
  void micro_step() {
    auto batch = loader_->next();
    PAT_ASSERT(batch.has_value(), "the repeating loader ended");
    TaskStep output;
    {
      Autocast autocast(device_, config_.runtime.precision);
      output = task_->forward(*batch, device_);
    }
    PAT_ASSERT(!output.losses.empty(), "a training task returned no loss");
    if (loss_hook_) loss_hook_(state_.step + 1, output.losses);
    // One small all-reduce per micro-batch: the loss terms and statistics averaged over ranks, and
    // whether any rank was asked to stop. Every rank then takes the same decisions.
    auto total = torch::zeros({}, output.losses.begin()->second.options().dtype(torch::kFloat32));
    std::vector<double> values;
    for (const auto& [name, term] : output.losses) {
      values.push_back(term.item<double>());
      total = total + term.to(torch::kFloat32);
    }
    values.push_back(total.item<double>());
    for (const auto& [k, v] : output.stats) values.push_back(v);
    values.push_back(stop_requested() ? 1.0 : 0.0);
    auto shared = torch::tensor(values, torch::kFloat64);
    comm_.all_reduce_sum(shared);
    auto agreed = shared.accessor<double, 1>();
    size_t k = 0;
    for (const auto& [name, term] : output.losses) {
      const double value = agreed[static_cast<int64_t>(k++)] / world_;
      PAT_CHECK(std::isfinite(value), "step ", state_.step + 1, ": loss term \"", name, "\" is ", value,
                "; stopping without saving (last good checkpoint: ", last_good_, ")");
      sums_["loss_" + name] += value / t_.grad_accum;
    }
    sums_["loss"] += agreed[static_cast<int64_t>(k++)] / world_ / t_.grad_accum;
    for (const auto& [name, v] : output.stats) step_stats_[name] = agreed[static_cast<int64_t>(k++)] / world_;
    stop_ = stop_ || agreed[static_cast<int64_t>(k)] > 0;
    (total / static_cast<double>(t_.grad_accum)).backward();
    state_.epoch = batch->state.epoch;
    state_.position = batch->state.position;
    window_images_ += batch->images.size(0) * world_;
  }

  /// Gradient averaging over ranks, clipping (train.clip_grad_mode), the optimizer update, then the end of
  /// the step for PAT's codebooks (dead-code restart counts optimizer steps).
  void optimizer_step() {
    average_gradients(comm_, trainable_);
    if (t_.clip_grad_norm > 0) {
      if (t_.clip_grad_mode == "per_group") {
        clip_grad_norm_per_group({clip_groups_.baseline, clip_groups_.pat}, t_.clip_grad_norm);
      } else {
        torch::nn::utils::clip_grad_norm_(trainable_, t_.clip_grad_norm);
      }
    }
    optimizer_->step();
    task_->end_step();
    ++state_.step;
    ++window_steps_;
  }

  void save(const std::string& name) {
    if (main_) save_checkpoint(out_ + "/" + name, task_->module(), optimizer_.get(), state_);
    if (name != "best.pt") last_good_ = out_ + "/" + name;
  }

  /// Validates (sharded over ranks), logs it, keeps best.pt; the final pass may also write previews.
  void validate(bool final_pass) {
    TaskValidation v;
    {
      Autocast autocast(device_, config_.runtime.precision);
      v = task_->validate(final_pass, comm_);
    }
    task_->module().train();
    if (metrics_) {
      nlohmann::json record = {{"step", state_.step}};
      record.update(v.metrics);
      metrics_->write(record);
    }
    PAT_LOG_INFO("step {}: {}", state_.step, v.summary);
    result_.last_score = v.score;
    if (v.score > state_.best_metric) {
      state_.best_metric = v.score;
      result_.best_score = v.score;
      save("best.pt");
    }
  }

  const Config& config_;
  const TrainConfig& t_;
  const std::string out_;
  const torch::Device device_;
  Communicator& comm_;
  const bool main_;
  const int world_;
  const TaskFactory& make_task_;
  const LossHook& loss_hook_;

  std::string checkpoint_;  // the checkpoint resumed from ("" for a fresh start)
  std::unique_ptr<TrainTask> task_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<double> base_lrs_;
  std::vector<torch::Tensor> trainable_;
  GradClipGroups clip_groups_;  // the same parameters as trainable_, baseline and PAT apart
  TrainState state_;
  std::string last_good_ = "none";
  std::unique_ptr<data::Loader> loader_;
  std::optional<MetricsLog> metrics_;
  LrScheduleOptions schedule_;
  TrainResult result_;

  bool tty_ = false;
  std::unique_ptr<Progress> progress_;
  double multiplier_ = 1.0;                   // learning-rate multiplier of the current step
  std::map<std::string, double> sums_;        // loss sums over the logging window
  std::map<std::string, double> step_stats_;  // codebook statistics of the current step
  int64_t window_steps_ = 0, window_images_ = 0;
  std::chrono::steady_clock::time_point window_start_, run_start_;
  int64_t first_step_ = 0;
  bool stop_ = false;  // agreed by all ranks at the end of the previous step
};

}  // namespace

Trainer::Trainer(Config config, torch::Device device, std::shared_ptr<Communicator> comm, TaskFactory task)
    : config_(std::move(config)),
      device_(device),
      comm_(comm ? std::move(comm) : std::make_shared<Communicator>()),
      make_task_(task ? std::move(task) : TaskFactory(make_segmentation_task)) {}

TrainResult Trainer::run(const std::string& resume) {
  TrainingRun run(config_, device_, *comm_, make_task_, loss_hook);
  run.prepare(resume);
  while (!run.finished()) {
    if (run.stop_agreed()) {
      run.stop();
      break;
    }
    run.train_step();
    run.log_step();
    run.checkpoint_step();
    run.validate_step();
  }
  return run.finish();
}

}  // namespace pat::engine
