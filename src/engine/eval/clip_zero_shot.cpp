#include "pat/engine/eval/clip_zero_shot.h"

#include <algorithm>
#include <cmath>

#include "pat/core/error.h"
#include "pat/engine/eval/evaluator.h"
#include "pat/engine/eval/metrics.h"
#include "pat/model/seg_model.h"

namespace pat::engine {
namespace {

torch::Device model_device(const clip::ClipModelImpl& model) { return model.positional_embedding.device(); }

/// RGB uint8 images [begin, end) as one model input batch (on the model's device, resized and normalised).
torch::Tensor model_input(const clip::ClipModelImpl& model, const std::vector<cv::Mat>& images, size_t begin,
                          size_t end) {
  std::vector<torch::Tensor> batch;
  for (size_t j = begin; j < end; ++j) batch.push_back(image_tensor(images[j]));
  return model::normalize_model_input(torch::stack(batch).to(model_device(model)),
                                      model.architecture().image_resolution);
}

/// L2-normalised image embeddings of RGB uint8 images, in batches.
torch::Tensor embed_images(clip::ClipModelImpl& model, const std::vector<cv::Mat>& images, int64_t batch_size) {
  std::vector<torch::Tensor> rows;
  for (size_t i = 0; i < images.size(); i += size_t(batch_size)) {
    auto x = model_input(model, images, i, std::min(images.size(), i + size_t(batch_size)));
    rows.push_back(torch::nn::functional::normalize(model.encode_image(x), torch::nn::functional::NormalizeFuncOptions().dim(-1)));
  }
  return torch::cat(rows);
}

/// L2-normalised text embeddings (texts longer than the context are cut, keeping the end token).
torch::Tensor embed_texts(clip::ClipModelImpl& model, const clip::Tokenizer& tokenizer,
                          const std::vector<std::string>& texts, int64_t batch_size) {
  std::vector<torch::Tensor> rows;
  for (size_t i = 0; i < texts.size(); i += size_t(batch_size)) {
    const std::vector<std::string> batch(texts.begin() + long(i),
                                         texts.begin() + long(std::min(texts.size(), i + size_t(batch_size))));
    auto ids = tokenizer.tokenize_batch(batch, model.architecture().context_length, /*truncate=*/true);
    rows.push_back(torch::nn::functional::normalize(model.encode_text(ids.to(model_device(model))),
                                                    torch::nn::functional::NormalizeFuncOptions().dim(-1)));
  }
  return torch::cat(rows);
}

/// The prompts of `classes`: `prompt` with "{}" replaced by each name.
std::vector<std::string> class_prompts(const std::string& prompt, const std::vector<std::string>& classes) {
  const auto slot = prompt.find("{}");
  PAT_CHECK(slot != std::string::npos, "zero-shot check: the prompt \"", prompt, "\" has no {} for the class");
  std::vector<std::string> prompts;
  for (const auto& c : classes) prompts.push_back(std::string(prompt).replace(slot, 2, c));
  return prompts;
}

/// Dense zero-shot segmentation of `images` over `classes` scored against `labels` (class positions).
SegMetrics dense_zero_shot(clip::ClipModelImpl& model, const clip::Tokenizer& tokenizer,
                           const std::vector<cv::Mat>& images, const std::vector<cv::Mat>& labels,
                           const std::vector<std::string>& classes, const ClipZeroShotOptions& options) {
  namespace F = torch::nn::functional;
  const auto text = embed_texts(model, tokenizer, class_prompts(options.prompt, classes), options.batch_size);
  ConfusionMatrix confusion(int64_t(classes.size()));
  for (size_t i = 0; i < images.size(); i += size_t(options.batch_size)) {
    const size_t end = std::min(images.size(), i + size_t(options.batch_size));
    std::vector<torch::Tensor> truth;
    for (size_t j = i; j < end; ++j)
      truth.push_back(torch::from_blob(labels[j].data, {labels[j].rows, labels[j].cols}, torch::kInt32).clone());
    auto x = model_input(model, images, i, end);
    auto dense = F::normalize(model.encode_image_dense(x).dense, F::NormalizeFuncOptions().dim(1));  // [B, E, h, w]
    auto scores = torch::einsum("behw,ce->bchw", {dense, text});
    scores = F::interpolate(scores, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{labels[i].rows, labels[i].cols})
                                        .mode(torch::kBilinear)
                                        .align_corners(false));
    confusion.update(scores.argmax(1).to(torch::kCPU), torch::stack(truth));
  }
  return confusion.compute();
}

/// Mean of the non-NaN entries of `values` at the positions where `mask` equals `selected` (NaN when none).
double mean_where(const std::vector<double>& values, const std::vector<bool>& mask, bool selected) {
  double sum = 0;
  int64_t count = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (mask[i] == selected && !std::isnan(values[i])) sum += values[i], ++count;
  return count > 0 ? sum / double(count) : std::nan("");
}

double percent(int64_t hits, int64_t total) { return total > 0 ? 100.0 * double(hits) / double(total) : 0.0; }

}  // namespace

ClipZeroShot evaluate_clip_zero_shot(clip::ClipModelImpl& model, const clip::Tokenizer& tokenizer,
                                     const ClipZeroShotOptions& options) {
  torch::NoGradGuard no_grad;
  model.eval();
  ClipZeroShot out;

  // Caption retrieval over the held-out scenes.
  data::SyntheticOptions scene_options = options.scenes;
  scene_options.captions = true;
  const data::SyntheticDataset scenes(scene_options);
  std::vector<cv::Mat> images, labels;
  std::vector<std::string> captions;
  for (size_t i = 0; i < scenes.size(); ++i) {
    auto s = scenes.get(i);
    images.push_back(s.image);
    labels.push_back(s.label);
    captions.push_back(s.caption);
  }
  const auto similarity = embed_images(model, images, options.batch_size)
                              .matmul(embed_texts(model, tokenizer, captions, options.batch_size).t())
                              .to(torch::kCPU);  // [scenes, captions]
  const auto best_text = similarity.argmax(1), best_image = similarity.argmax(0);
  int64_t i2t = 0, t2i = 0;
  for (int64_t i = 0; i < int64_t(captions.size()); ++i) {
    i2t += captions[size_t(best_text[i].item<int64_t>())] == captions[size_t(i)];
    t2i += captions[size_t(best_image[i].item<int64_t>())] == captions[size_t(i)];
  }
  out.scenes = int64_t(captions.size());
  out.image_to_text_r1 = percent(i2t, out.scenes);
  out.text_to_image_r1 = percent(t2i, out.scenes);

  // Dense zero-shot segmentation of the same scenes over all their classes.
  const auto dense = dense_zero_shot(model, tokenizer, images, labels, scenes.class_names(), options);
  const auto objects = data::synthetic_object_classes(scenes.class_names());
  std::vector<bool> is_object;
  for (const auto& name : scenes.class_names())
    is_object.push_back(std::count(objects.begin(), objects.end(), name) > 0);
  out.dense_miou = dense.miou;
  out.dense_background_miou = mean_where(dense.iou, is_object, false);
  out.dense_object_miou = mean_where(dense.iou, is_object, true);

  // Zero-shot classification of single-object crops.
  const auto classes = data::synthetic_object_classes(options.scenes.classes);
  PAT_CHECK(!classes.empty(), "zero-shot check: the scene classes hold no object class");
  const auto text = embed_texts(model, tokenizer, class_prompts(options.prompt, classes), options.batch_size);
  std::vector<cv::Mat> crops;
  std::vector<int64_t> truth;
  for (int64_t i = 0; i < options.num_crops; ++i) {
    auto crop = data::synthetic_object_crop(options.scenes, size_t(i));
    crops.push_back(crop.image);
    truth.push_back(int64_t(std::find(classes.begin(), classes.end(), crop.name) - classes.begin()));
  }
  const auto predicted = embed_images(model, crops, options.batch_size).matmul(text.t()).argmax(1).to(torch::kCPU);
  // "colour geometry": the words before and after the space.
  auto word = [&](int64_t c, bool first) {
    const std::string& name = classes[size_t(c)];
    const auto space = name.find(' ');
    return first ? name.substr(0, space) : name.substr(space + 1);
  };
  int64_t hits = 0, colours = 0, geometries = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const int64_t p = predicted[int64_t(i)].item<int64_t>();
    hits += p == truth[i];
    colours += word(p, true) == word(truth[i], true);
    geometries += word(p, false) == word(truth[i], false);
  }
  out.crops = int64_t(truth.size());
  out.classes = int64_t(classes.size());
  out.accuracy = percent(hits, out.crops);
  out.colour_accuracy = percent(colours, out.crops);
  out.geometry_accuracy = percent(geometries, out.crops);
  return out;
}

}  // namespace pat::engine
