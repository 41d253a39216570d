// bench_head: forward time and peak memory of the CAT-Seg head (ViT-B/16 at 384, eval mode) on random
// ViT-B-shaped inputs: dense [1, 512, 24, 24], taps [1, 768, 24, 24] through upsample1/2, text [1, T, 1, 512].
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <torch/torch.h>

#include "pat/app/cli.h"
#include "pat/core/runtime.h"
#include "pat/model/catseg/catseg_head.h"
#include "pat/model/catseg/catseg_presets.h"
#include "pat/model/catseg/guidance_upsamplers.h"

namespace {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

}  // namespace

int main(int argc, char** argv) {
  auto app = pat::app::make_app("bench_head", "Time the CAT-Seg head forward (ViT-B/16 at 384, eval mode, CPU).");
  std::vector<int64_t> classes{150, 847};
  int threads = 0, repeats = 1;
  app->add_option("--classes", classes, "Vocabulary sizes T to run, in order (peak RSS is cumulative)")->delimiter(',');
  app->add_option("--threads", threads, "Intra-op threads (0: all)");
  app->add_option("--repeats", repeats, "Timed forwards per T (the median is reported)")->check(CLI::PositiveNumber);
  return pat::app::run(*app, argc, argv, [&] {
    const int used_threads = pat::set_threads(threads);
    pat::seed_all(0);
    auto preset = pat::model::catseg_vit_b16_384();
    pat::model::GuidanceUpsamplers upsamplers(preset.upsamplers);
    pat::model::CatSegHead head(preset.head);
    upsamplers->eval();
    head->eval();
    torch::NoGradGuard no_grad;
    auto dense = torch::randn({1, 512, 24, 24});
    auto tap1 = torch::randn({1, 768, 24, 24}), tap2 = torch::randn({1, 768, 24, 24});
    std::printf("CAT-Seg head, ViT-B/16@384, eval (pooling 1, pad_len %lld), %d threads, LibTorch %s\n",
                static_cast<long long>(preset.head.pad_len), used_threads, pat::torch_version().c_str());
    std::printf("startup peak RSS %.0f MiB\n", peak_rss_mib());
    std::printf("%8s %12s %14s %14s %16s\n", "T", "classes_run", "forward_s", "upsamplers_s", "peak_rss_MiB");
    for (int64_t t : classes) {
      auto text = torch::randn({1, t, 1, 512});
      std::vector<double> head_s, up_s;
      torch::Tensor logits;
      for (int r = 0; r < repeats; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        auto [g1, g2] = upsamplers(tap1, tap2);
        auto t1 = std::chrono::steady_clock::now();
        logits = head(dense, text, g1, g2);
        auto t2 = std::chrono::steady_clock::now();
        up_s.push_back(std::chrono::duration<double>(t1 - t0).count());
        head_s.push_back(std::chrono::duration<double>(t2 - t1).count());
      }
      std::sort(head_s.begin(), head_s.end());
      std::sort(up_s.begin(), up_s.end());
      const int64_t run = preset.head.pad_len > 0 ? std::min<int64_t>(t, preset.head.pad_len) : t;
      std::printf("%8lld %12lld %14.3f %14.3f %16.0f\n", static_cast<long long>(t), static_cast<long long>(run),
                  head_s[head_s.size() / 2], up_s[up_s.size() / 2], peak_rss_mib());
      std::printf("         logits [%lld, %lld, %lld, %lld]\n", static_cast<long long>(logits.size(0)),
                  static_cast<long long>(logits.size(1)), static_cast<long long>(logits.size(2)),
                  static_cast<long long>(logits.size(3)));
    }
    return 0;
  });
}
