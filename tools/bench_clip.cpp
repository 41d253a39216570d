// bench_clip: CLIP image-encoder throughput (ViT-B/16 by default, random weights) at the given input sizes.
// Compare with tools/bench_clip_ref.py (the same architecture in Python PyTorch) at the same thread count.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <torch/torch.h>

#include "pat/app/cli.h"
#include "pat/clip/architecture.h"
#include "pat/clip/vision_transformer.h"
#include "pat/core/runtime.h"

int main(int argc, char** argv) {
  auto app = pat::app::make_app("bench_clip", "CLIP encode_image throughput with random weights.");
  int threads = 2, batch = 2, iters = 3, warmup = 1;
  std::string arch_name = "ViT-B-16", device_spec = "cpu";
  std::vector<int64_t> sizes = {224, 384};
  app->add_option("--threads", threads, "Intra-op CPU threads")->capture_default_str();
  app->add_option("--batch", batch, "Images per forward pass")->capture_default_str();
  app->add_option("--iters", iters, "Timed iterations per size")->capture_default_str();
  app->add_option("--warmup", warmup, "Untimed iterations per size")->capture_default_str();
  app->add_option("--arch", arch_name, "Architecture preset")->capture_default_str();
  app->add_option("--sizes", sizes, "Input sizes (multiples of the patch)")->delimiter(',')->capture_default_str();
  app->add_option("--device", device_spec, "cpu | cuda | cuda:N")->capture_default_str();
  return pat::app::run(*app, argc, argv, [&] {
    const int used = pat::set_threads(threads);
    const auto device = pat::resolve_device(device_spec);
    const auto a = pat::clip::ClipArchitecture::preset(arch_name);
    torch::manual_seed(0);
    pat::clip::VisionTransformer visual(pat::clip::VisionTransformerOptions{
        a.image_resolution, a.vision_patch_size, a.vision_width, a.vision_layers, a.vision_heads, a.embed_dim});
    visual->to(device);
    visual->eval();
    torch::NoGradGuard no_grad;
    std::printf("bench_clip: %s encode_image, batch %d, %d threads, LibTorch %s, %s\n", arch_name.c_str(), batch, used,
                pat::torch_version().c_str(), device.str().c_str());
    for (int64_t size : sizes) {
      auto images = torch::randn({batch, 3, size, size}, torch::TensorOptions().device(device));
      auto sync = [&] {
        if (device.is_cuda()) torch::cuda::synchronize();
      };
      for (int i = 0; i < warmup; ++i) visual(images);
      sync();
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) visual(images);
      sync();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("  %4lld px: %8.2f images/s  (%.1f ms per batch)\n", static_cast<long long>(size),
                  batch * iters / seconds, 1000.0 * seconds / iters);
    }
    return 0;
  });
}
