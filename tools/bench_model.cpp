// bench_model: where the whole model's time goes, and how close it runs to the machine's matrix-product
// rate (docs/performance.md). Random weights from any config; times an inference forward, the sliding-window
// evaluation of one image and a training step, at each thread count, on the config's runtime.device in its
// runtime.precision (--set runtime.device=cuda runtime.precision=bf16 runtime.tf32=true).
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "pat/app/cli.h"
#include "pat/core/cpu_cache.h"
#include "pat/core/error.h"
#include "pat/core/runtime.h"
#include "pat/engine/bench/measure.h"
#include "pat/engine/bench/model_bench.h"
#include "pat/engine/bench/op_profiler.h"
#include "pat/model/catseg/fast_paths.h"

namespace {

using pat::engine::ModelBench;
using pat::engine::time_interleaved;
using pat::engine::time_repeated;
using json = nlohmann::ordered_json;

void say(bool quiet, const char* format, ...) __attribute__((format(printf, 2, 3)));
void say(bool quiet, const char* format, ...) {
  if (quiet) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stdout, format, args);
  va_end(args);
  std::fflush(stdout);
}

/// GFLOP of one call of `fn`, counted by the operator profiler (the call also warms up).
pat::engine::ProfileReport profile(const std::function<void()>& fn, bool record_inputs = true) {
  pat::engine::OpProfiler profiler;
  profiler.start(record_inputs);
  fn();
  return profiler.stop();
}

}  // namespace

int main(int argc, char** argv) {
  auto app = pat::app::make_app(
      "bench_model",
      "Benchmark the whole model (random weights): inference forward at batch 1, sliding-window evaluation of one "
      "image, training step; sgemm rate, FLOPs, per-module profile, class sweep, before/after of each optimisation.");
  pat::app::ConfigFlags flags;
  flags.config = "configs/pat_vitb16.yaml";
  pat::app::add_config_flags(*app, flags, /*config_required=*/false);
  std::vector<int> threads{1, 2};
  std::vector<std::string> what{"forward", "eval", "train"}, off;
  std::vector<int64_t> sweep;
  int repeats = 5, warmup = 1, ablate_repeats = 3, top = 10, eval_repeats = 0, train_repeats = 0;
  int64_t vocab = 150, batch = 1, train_batch = 2, height = 640, width = 853;
  bool as_json = false, ablate = false, ablate_views = false, inference_mode = false, per_view = false;
  std::string profile_what;
  app->add_option("--threads", threads, "Intra-op thread counts to measure, in order")->delimiter(',');
  app->add_option("--what", what, "Workloads to time: forward, eval, train")->delimiter(',');
  app->add_option("--repeats", repeats, "Timed repeats per workload (the median is reported)")
      ->check(CLI::PositiveNumber);
  app->add_option("--eval-repeats", eval_repeats, "Timed repeats of the eval (0: --repeats)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--train-repeats", train_repeats, "Timed repeats of the training step (0: --repeats)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--warmup", warmup, "Untimed runs before the timed ones")->check(CLI::NonNegativeNumber);
  app->add_option("--vocab", vocab, "Classes of the main measurements")->check(CLI::PositiveNumber);
  app->add_option("--batch", batch, "Images per inference forward")->check(CLI::PositiveNumber);
  app->add_option("--train-batch", train_batch, "Images per training step")->check(CLI::PositiveNumber);
  app->add_option("--image", height, "Height of the evaluated image")->check(CLI::PositiveNumber);
  app->add_option("--image-width", width, "Width of the evaluated image")->check(CLI::PositiveNumber);
  app->add_option("--classes", sweep,
                  "Class sweep instead of the main measurements: eval time and peak RSS per image for each count "
                  "(e.g. 50,150,459,847), at the last --threads")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app->add_option("--profile", profile_what,
                  "Also profile one run of this workload (forward, eval or train): time and FLOPs per module, top "
                  "operators")
      ->check(CLI::IsMember({"forward", "eval", "train"}));
  app->add_option("--top", top, "Operators listed by --profile")->check(CLI::PositiveNumber);
  app->add_option("--off", off,
                  "Turn optimisations off: tokens_last, factored_guidance, fused_attention, channels_last, "
                  "gemm_upsampling, small_gemm, split_linear, head_conv, loop_gradients, chunking, cpu_cache "
                  "(runtime.cpu_cache_mb 0)")
      ->delimiter(',');
  app->add_flag("--inference-mode", inference_mode, "Run forward and eval under c10::InferenceMode (else NoGradGuard)");
  app->add_flag("--per-view", per_view, "Sliding window: one forward per view instead of one batch of all views");
  app->add_flag("--ablate", ablate,
                "Before/after of each optimisation side by side: forward at batch 1 with the optimisation off and "
                "with everything on, run alternately (median of --ablate-repeats each), at the last --threads");
  app->add_flag("--ablate-views", ablate_views,
                "Before/after of batching the sliding-window views: one eval with one forward per view, one with a "
                "single batch; with --classes, each row also times the eval without skipping vanishing (pruned) "
                "class planes");
  app->add_option("--ablate-repeats", ablate_repeats, "Timed repeats per ablation variant")->check(CLI::PositiveNumber);
  app->add_flag("--json", as_json, "Print one JSON object (progress goes nowhere)");
  return pat::app::run(*app, argc, argv, [&] {
    auto config = pat::app::load_config(flags);
    if (flags.print_config) {
      std::cout << pat::to_yaml(config);
      return 0;
    }
    PAT_CHECK(!threads.empty(), "--threads: expected at least one thread count");
    for (int t : threads) PAT_CHECK(t >= 1, "--threads: expected positive counts, got ", t);
    for (const auto& w : what)
      PAT_CHECK(w == "forward" || w == "eval" || w == "train", "--what: expected forward, eval or train, got '", w,
                "'");
    pat::set_cpu_cache_limit(config.runtime.cpu_cache_mb << 20);
    for (const auto& name : off)
      if (name == "cpu_cache")
        pat::set_cpu_cache_limit(0);
      else
        pat::model::set_catseg_fast_path(name, false);
    const bool quiet = as_json;
    auto has = [&](const char* w) { return std::find(what.begin(), what.end(), w) != what.end(); };

    pat::engine::ModelBenchOptions options;
    options.classes = sweep.empty() ? vocab : sweep.front();
    options.batch = batch;
    options.image_height = height;
    options.image_width = width;
    options.train_batch = train_batch;
    options.inference_mode = inference_mode;
    options.batched_views = !per_view;
    pat::set_threads(threads.back());
    const double startup_rss = pat::engine::current_rss_mib();
    ModelBench bench(config, options);
    const auto& clip = bench.config().model.clip;
    const auto& runtime = bench.config().runtime;
    const auto device = bench.device();
    // The machine's matrix-product rate in the run's precision: float32 sgemm on the CPU (1024³), on CUDA
    // float32 (TF32 as configured) or bfloat16 at 8192³, large enough to reach the tensor cores' rate.
    const bool bf16 = device.is_cuda() && runtime.precision == "bf16";
    const int64_t gemm_n = device.is_cuda() ? 8192 : 1024;
    const auto gemm_dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
    const std::string gemm = std::string(bf16 ? "bfloat16" : (device.is_cuda() && runtime.tf32 ? "tf32" : "float32")) +
                             " " + std::to_string(gemm_n) + "^3 on " + device.str();
    auto cuda_peak = [&](const std::function<void()>& fn) {
      pat::engine::reset_cuda_peak(device);
      fn();
      return pat::engine::cuda_peak_mib(device);
    };
    json out;
    out["config"] = flags.config;
    out["libtorch"] = pat::torch_version();
    out["mkldnn"] = at::hasMKLDNN();
    out["device"] = device.str();
    out["precision"] = runtime.precision;
    out["tf32"] = runtime.tf32;
    out["batch"] = batch;
    out["train_batch"] = train_batch;
    out["gemm"] = gemm;
    out["model"] = {{"clip", clip.arch},
                    {"image_size", clip.image_size},
                    {"pat", bench.config().model.pat.enabled},
                    {"classes", options.classes}};
    std::string disabled;
    for (const auto& name : off) disabled += (disabled.empty() ? "" : ",") + name;
    out["optimisations_off"] = disabled;
    out["model_rss_mb"] = pat::engine::current_rss_mib() - startup_rss;
    say(quiet,
        "bench_model: %s (CLIP %s at %lld, PAT %s), LibTorch %s, oneDNN %s, optimisations off: %s; %s, %s%s, batch "
        "%lld, training batch %lld\n",
        flags.config.c_str(), clip.arch.c_str(), static_cast<long long>(clip.image_size),
        bench.config().model.pat.enabled ? "on" : "off", pat::torch_version().c_str(), at::hasMKLDNN() ? "yes" : "no",
        disabled.empty() ? "none" : disabled.c_str(), device.str().c_str(), runtime.precision.c_str(),
        device.is_cuda() && runtime.tf32 ? " (TF32 allowed)" : "", static_cast<long long>(batch),
        static_cast<long long>(train_batch));

    // Class sweep: eval time and peak RSS per image for each vocabulary size.
    if (!sweep.empty()) {
      json rows = json::array();
      say(quiet,
          "| classes | eval ms/image | peak RSS MiB | RSS before MiB | first forward ms (with the text embeddings) "
          "|%s\n|---:|---:|---:|---:|---:|%s\n",
          ablate_views ? " eval ms, every plane evaluated (alternating) |" : "", ablate_views ? "---:|" : "");
      for (int64_t n : sweep) {
        bench.set_classes(n);
        // A forward computes the vocabulary's text embeddings (cached afterwards) and warms up.
        const auto text = time_repeated([&] { bench.forward(); }, 0, 1);
        const double before = pat::engine::current_rss_mib();
        const bool reset = pat::engine::reset_peak_rss();
        pat::engine::TimingStats t, all_planes;
        auto& o = bench.options();
        const double gpu_peak = cuda_peak([&] {
          if (!ablate_views) {
            t = time_repeated([&] { bench.eval_image(); }, 0, repeats);
            return;
          }
          // Skipping vanishing class planes on / off, alternately.
          std::tie(t, all_planes) = time_interleaved([&] { bench.eval_image(); },
                                                     [&] {
                                                       o.skip_vanishing = false;
                                                       bench.eval_image();
                                                       o.skip_vanishing = true;
                                                     },
                                                     0, repeats);
        });
        const double peak = pat::engine::peak_rss_mib();
        const double text_ms = text.median_ms;
        rows.push_back({{"classes", n},
                        {"eval_image_ms", t.median_ms},
                        {"peak_rss_mb", peak},
                        {"rss_before_mb", before},
                        {"peak_reset", reset},
                        {"first_forward_ms", text_ms}});
        if (gpu_peak >= 0) rows.back()["peak_gpu_mb"] = gpu_peak;
        if (ablate_views) rows.back()["eval_image_all_planes_ms"] = all_planes.median_ms;
        say(quiet, "| %lld | %.0f | %.0f | %.0f | %.0f |%s%s\n", static_cast<long long>(n), t.median_ms, peak, before,
            text_ms, ablate_views ? (" " + std::to_string(static_cast<int>(all_planes.median_ms)) + " |").c_str() : "",
            gpu_peak >= 0 ? (" GPU peak " + std::to_string(static_cast<int>(gpu_peak)) + " MiB |").c_str() : "");
      }
      out["threads"] = threads.back();
      out["class_sweep"] = rows;
      out["peak_rss_mb"] = pat::engine::peak_rss_mib();
      if (as_json) std::cout << out.dump() << std::endl;
      return 0;
    }

    // FLOPs, counted once (they do not depend on the thread count); these runs also warm up. The training step
    // (tens of GB of autograd buffers at ViT-B/16 scale) runs last, after everything else was timed, so that
    // the memory it churns does not slow the other measurements.
    bench.forward();  // text embeddings
    const double model_gflop = profile([&] { bench.forward(); }).gflop;
    double eval_gflop = 0, train_gflop = 0;
    if (has("eval")) eval_gflop = profile([&] { bench.eval_image(); }).gflop;

    std::vector<json> rows;
    for (int t : threads) {
      pat::set_threads(t);
      json row;
      row["threads"] = t;
      // On the CPU the matrix-product rate is sampled before every forward (warm-ups included), so that the rate
      // and the forward it is compared with come from the same minutes of a machine whose speed drifts; median of
      // all. On a GPU once, before (its products' buffers would count in the forward's peak memory).
      std::vector<double> rates;
      auto sample_rate = [&] { rates.push_back(pat::engine::gemm_gflops(gemm_n, device, gemm_dtype)); };
      const bool interleave = has("forward") && !device.is_cuda();
      if (!interleave) sample_rate();
      double forward_ms = 0, eval_ms = 0;
      const double forward_gpu = cuda_peak([&] {
        auto forward = [&] { bench.forward(); };
        if (interleave)
          forward_ms = time_interleaved(sample_rate, forward, warmup, repeats).second.median_ms;
        else if (has("forward"))
          forward_ms = time_repeated(forward, warmup, repeats).median_ms;
      });
      row["sgemm_gflops"] = pat::engine::median(rates);
      const double eval_gpu = cuda_peak([&] {
        if (has("eval"))
          eval_ms =
              time_repeated([&] { bench.eval_image(); }, warmup, eval_repeats > 0 ? eval_repeats : repeats).median_ms;
      });
      row["forward_ms"] = forward_ms;
      row["eval_image_ms"] = eval_ms;
      if (forward_gpu >= 0) row["forward_peak_gpu_mb"] = forward_gpu, row["eval_peak_gpu_mb"] = eval_gpu;
      say(quiet, "%d threads: %s %.1f GFLOP/s, forward %.1f ms, eval %.1f ms/image\n", t, gemm.c_str(),
          row["sgemm_gflops"].get<double>(), forward_ms, eval_ms);
      rows.push_back(row);
    }

    // Before / after of each optimisation, side by side in this process.
    json ablation_rows = json::array();
    if (ablate || ablate_views)
      say(quiet, "| optimisation | workload | off ms | on ms | speedup |\n|---|---|---:|---:|---:|\n");
    auto add = [&](const std::string& name, const char* workload, double off_ms, double on_ms) {
      ablation_rows.push_back(
          {{"name", name}, {"workload", workload}, {"off_ms", off_ms}, {"on_ms", on_ms}, {"speedup", off_ms / on_ms}});
      say(quiet, "| %s | %s | %.0f | %.0f | %.2fx |\n", name.c_str(), workload, off_ms, on_ms, off_ms / on_ms);
    };
    if (ablate) {
      // Each row: all on and this one off, run alternately (drift slows both alike), median of each.
      auto fwd = [&] { bench.forward(); };
      auto pair = [&](const std::string& name, const std::function<void()>& off_run) {
        const auto [on, off_t] = time_interleaved(fwd, off_run, 1, ablate_repeats);
        add(name, "forward", off_t.median_ms, on.median_ms);
      };
      const auto defaults = pat::model::catseg_fast_paths();
      for (const auto& name : pat::model::catseg_fast_path_names())
        pair(name, [&] {
          pat::model::ScopedCatSegFastPaths scoped(defaults);
          pat::model::set_catseg_fast_path(name, false);
          bench.forward();
        });
      const int64_t cache_limit = pat::cpu_cache_limit();
      if (cache_limit > 0)  // off: every large tensor freshly mapped; on: the cache starts empty after each off run
        pair("cpu_cache", [&] {
          pat::set_cpu_cache_limit(0);
          bench.forward();
          pat::set_cpu_cache_limit(cache_limit);
        });
      pair("all CAT-Seg fast paths", [&] {
        pat::model::ScopedCatSegFastPaths scoped(defaults);
        for (const auto& name : pat::model::catseg_fast_path_names()) pat::model::set_catseg_fast_path(name, false);
        bench.forward();
      });
      {
        // The other inference guard against the one in effect.
        auto& o = bench.options();
        const bool saved = o.inference_mode;
        const auto [current, other] = time_interleaved(fwd,
                                                       [&] {
                                                         o.inference_mode = !saved;
                                                         bench.forward();
                                                         o.inference_mode = saved;
                                                       },
                                                       1, ablate_repeats);
        const double no_grad_ms = saved ? other.median_ms : current.median_ms;
        const double inference_ms = saved ? current.median_ms : other.median_ms;
        add("inference_mode (off: NoGradGuard)", "forward", no_grad_ms, inference_ms);
      }
    }
    if (ablate_views) {
      auto& o = bench.options();
      const bool saved = o.batched_views;
      const auto [per_view, batched] = time_interleaved(
          [&] {
            o.batched_views = false;
            bench.eval_image();
          },
          [&] {
            o.batched_views = true;
            bench.eval_image();
          },
          0, 1);
      o.batched_views = saved;
      add("batched_views", "eval", per_view.median_ms, batched.median_ms);
    }
    if (ablate || ablate_views) out["ablation"] = ablation_rows;

    if (!profile_what.empty()) {
      std::function<void()> fn = [&] { bench.forward(); };
      if (profile_what == "eval") fn = [&] { bench.eval_image(); };
      if (profile_what == "train") fn = [&] { bench.train_step(); };
      const auto report = profile(fn);
      say(quiet, "\nprofile of one %s (%d threads): %.0f ms, %.1f GFLOP\n\n%s\n%s", profile_what.c_str(),
          threads.back(), report.wall_ms, report.gflop, pat::engine::format_scope_table(report).c_str(),
          ("\n" + pat::engine::format_op_table(report, static_cast<size_t>(top))).c_str());
      json modules = json::array(), ops = json::array();
      for (const auto& s : report.scopes)
        modules.push_back({{"name", s.name}, {"calls", s.calls}, {"self_ms", s.self_ms}, {"gflop", s.gflop}});
      modules.push_back({{"name", "(outside modules)"}, {"self_ms", report.unscoped_ms}});
      for (size_t i = 0; i < report.ops.size() && i < static_cast<size_t>(top); ++i) {
        const auto& o = report.ops[i];
        ops.push_back({{"name", o.name}, {"calls", o.calls}, {"self_ms", o.self_ms}, {"gflop", o.gflop}});
      }
      out["profile"] = {{"workload", profile_what}, {"wall_ms", report.wall_ms}, {"modules", modules}, {"ops", ops}};
    }
    if (has("train")) {
      train_gflop = profile([&] { bench.train_step(); }).gflop;
      for (auto& row : rows) {
        pat::set_threads(row["threads"].get<int>());
        double train_ms = 0;
        const double train_gpu = cuda_peak([&] {
          train_ms =
              time_repeated([&] { bench.train_step(); }, warmup, train_repeats > 0 ? train_repeats : repeats).median_ms;
        });
        row["train_step_ms"] = train_ms;
        if (train_gpu >= 0) row["train_peak_gpu_mb"] = train_gpu;
      }
    }
    out["model_gflop"] = model_gflop;
    out["eval_gflop"] = eval_gflop;
    out["train_gflop"] = train_gflop;
    say(quiet,
        "\nFLOPs (matrix products and convolutions): forward %.1f GFLOP, eval %.1f GFLOP, train step %.1f GFLOP\n",
        model_gflop, eval_gflop, train_gflop);
    say(quiet,
        "| threads | gemm GFLOP/s | forward ms | eval ms/image | train step ms | forward GFLOP/s | of gemm | eval "
        "GFLOP/s | train GFLOP/s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    json per_threads = json::array();
    for (auto& row : rows) {
      const double sgemm = row["sgemm_gflops"], fwd = row["forward_ms"], ev = row["eval_image_ms"];
      const double tr = row.contains("train_step_ms") ? row["train_step_ms"].get<double>() : 0.0;
      const double achieved = fwd > 0 ? model_gflop / (fwd * 1e-3) : 0;
      row["train_step_ms"] = tr;
      row["achieved_gflops"] = achieved;
      row["sgemm_ratio"] = sgemm > 0 ? achieved / sgemm : 0;
      row["eval_gflops"] = ev > 0 ? eval_gflop / (ev * 1e-3) : 0;
      row["train_gflops"] = tr > 0 ? train_gflop / (tr * 1e-3) : 0;
      say(quiet, "| %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f%% | %.1f | %.1f |\n", row["threads"].get<int>(), sgemm,
          fwd, ev, tr, achieved, 100.0 * row["sgemm_ratio"].get<double>(), row["eval_gflops"].get<double>(),
          row["train_gflops"].get<double>());
      per_threads.push_back(row);
    }
    out["per_threads"] = per_threads;
    for (const char* key :
         {"threads", "sgemm_gflops", "forward_ms", "eval_image_ms", "train_step_ms", "achieved_gflops", "sgemm_ratio"})
      out[key] = per_threads.back()[key];
    out["peak_rss_mb"] = pat::engine::peak_rss_mib();
    say(quiet, "peak RSS %.0f MiB\n", out["peak_rss_mb"].get<double>());
    for (const char* key : {"forward_peak_gpu_mb", "eval_peak_gpu_mb", "train_peak_gpu_mb"})
      if (per_threads.back().contains(key)) {
        out[key] = per_threads.back()[key];
        say(quiet, "%s %.0f MiB\n", key, out[key].get<double>());
      }
    if (as_json) std::cout << out.dump() << std::endl;
    return 0;
  });
}
