// bench_eval_memory: peak RSS of the sliding-window post-processing for many classes, with and
// without class chunking. The model is a dummy returning fixed random logits [5, T, 96, 96].
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <torch/torch.h>

#include "pat/app/cli.h"
#include "pat/core/error.h"
#include "pat/core/progress.h"
#include "pat/engine/bench/measure.h"
#include "pat/engine/eval/inference_protocol.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("bench_eval_memory",
                                "Peak RSS of sliding-window post-processing, unchunked vs class-chunked.");
  int64_t classes = 847, height = 640, width = 640, chunk = 0, budget_mb = 1024;
  app->add_option("--classes", classes, "Number of classes T")->capture_default_str();
  app->add_option("--height", height, "Image height")->capture_default_str();
  app->add_option("--width", width, "Image width")->capture_default_str();
  app->add_option("--class-chunk", chunk, "Chunk of the chunked run (0: automatic)")->capture_default_str();
  app->add_option("--budget-mb", budget_mb, "Memory budget of automatic chunking")->capture_default_str();
  return pat::app::run(*app, argc, argv, [&] {
    torch::manual_seed(0);
    const auto logits = torch::randn({5, classes, 96, 96});
    const auto image = torch::rand({3, height, width}) * 255;
    pat::engine::LogitsFn model = [&](const torch::Tensor&) { return logits; };
    std::printf("sliding window, T=%lld, image %lldx%lld, %d threads\n", static_cast<long long>(classes),
                static_cast<long long>(height), static_cast<long long>(width), at::get_num_threads());
    std::printf(
        "| run | class_chunk | peak RSS (MiB) | above baseline (MiB) | time (s) |\n|---|---:|---:|---:|---:|\n");
    pat::engine::SegPrediction results[2];
    pat::Progress progress(2, "bench_eval_memory");
    for (int run = 0; run < 2; ++run) {
      pat::engine::SlidingWindowOptions options;
      options.memory_budget_mb = budget_mb;
      options.class_chunk = run == 0 ? classes : chunk;  // run 0: everything at once
      const int64_t used =
          run == 0 ? classes
                   : pat::engine::resolve_class_chunk(classes, chunk, budget_mb, 4 * 5 * classes * 384 * 384,
                                                      4 * (5 * 384 * 384 + 2 * 640 * 640 + height * width));
      PAT_CHECK(pat::engine::reset_peak_rss(), "cannot reset the peak RSS through /proc/self/clear_refs");
      const double baseline = pat::engine::current_rss_mib();
      const auto start = std::chrono::steady_clock::now();
      results[run] = pat::engine::predict_sliding_window(image, model, options);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double peak = pat::engine::peak_rss_mib();
      std::printf("| %s | %lld | %.0f | %.0f | %.2f |\n", run == 0 ? "unchunked" : "chunked",
                  static_cast<long long>(used), peak, peak - baseline, seconds);
      std::fflush(stdout);
      progress.advance();
    }
    progress.finish();
    const bool same =
        torch::equal(results[0].labels, results[1].labels) && torch::equal(results[0].max_prob, results[1].max_prob);
    std::printf("chunked == unchunked (labels and max_prob, bitwise): %s\n", same ? "yes" : "NO");
    return same ? 0 : 1;
  });
}
