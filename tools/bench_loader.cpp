// bench_loader: data-loader throughput (images/s) on synthetic JPEG/PNG data with the CAT-Seg
// training transforms, for 1 and 2 worker threads.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "pat/app/cli.h"
#include "pat/data/image_io.h"
#include "pat/data/loader.h"
#include "pat/data/synthetic.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  auto app = pat::app::make_app("bench_loader", "Loader throughput on synthetic data (1 and 2 workers).");
  int images = 48, size = 384, crop = 320, batch = 4, epochs = 2;
  std::string dir = (fs::temp_directory_path() / "pat_bench_loader").string();
  app->add_option("--images", images, "Scenes written to disk")->check(CLI::PositiveNumber);
  app->add_option("--size", size, "Scene size in pixels")->check(CLI::Range(32, 2048));
  app->add_option("--crop", crop, "Training crop")->check(CLI::PositiveNumber);
  app->add_option("--batch", batch, "Batch size")->check(CLI::PositiveNumber);
  app->add_option("--epochs", epochs, "Epochs per measurement")->check(CLI::PositiveNumber);
  app->add_option("--dir", dir, "Scratch folder (removed afterwards)");
  return pat::app::run(*app, argc, argv, [&] {
    pat::data::SyntheticOptions so;
    so.num_images = images;
    so.image_size = size;
    pat::data::SyntheticDataset scenes(so);
    fs::create_directories(fs::path(dir) / "images");
    fs::create_directories(fs::path(dir) / "labels");
    for (size_t i = 0; i < scenes.size(); ++i) {
      const auto s = scenes.get(i);
      pat::data::write_image(dir + "/images/" + s.name + ".jpg", s.image, 90);
      pat::data::write_label(dir + "/labels/" + s.name + ".png", s.label);
    }
    auto spec = pat::data::generic_dataset_spec(dir, "bench");
    spec.class_file.clear();
    spec.num_classes = scenes.num_classes();
    auto dataset = std::make_shared<pat::data::FolderDataset>(spec);
    pat::data::TrainTransformOptions to;
    to.crop_size = crop;
    auto transform = pat::data::make_train_transforms(to);
    std::printf("bench_loader: %d scenes %dx%d (JPEG + PNG), crop %d, batch %d, %d epochs\n", images, size, size, crop,
                batch, epochs);
    for (int workers : {1, 2}) {
      pat::data::LoaderOptions lo;
      lo.batch_size = batch;
      lo.num_workers = workers;
      lo.repeat = true;
      pat::data::Loader loader(dataset, transform, lo);
      loader.next();  // warm-up
      const int64_t batches = int64_t(images) * epochs / batch;
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t k = 0; k < batches; ++k) loader.next();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  workers %d: %.1f images/s (%.2f ms/image)\n", workers, double(batches * batch) / s,
                  1000.0 * s / double(batches * batch));
    }
    fs::remove_all(dir);
    return 0;
  });
}
