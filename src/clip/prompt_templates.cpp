#include "pat/clip/prompt_templates.h"

#include "pat/core/error.h"

namespace pat::clip {

const char* const kSceneTemplate = "A photo of a {} in the scene";

namespace {

/// OpenAI's 80 ImageNet prompt templates (CLIP's Prompt_Engineering_for_ImageNet notebook), in its order.
const std::vector<std::string>& imagenet_templates() {
  static const std::vector<std::string> templates = {
      "a bad photo of a {}.",
      "a photo of many {}.",
      "a sculpture of a {}.",
      "a photo of the hard to see {}.",
      "a low resolution photo of the {}.",
      "a rendering of a {}.",
      "graffiti of a {}.",
      "a bad photo of the {}.",
      "a cropped photo of the {}.",
      "a tattoo of a {}.",
      "the embroidered {}.",
      "a photo of a hard to see {}.",
      "a bright photo of a {}.",
      "a photo of a clean {}.",
      "a photo of a dirty {}.",
      "a dark photo of the {}.",
      "a drawing of a {}.",
      "a photo of my {}.",
      "the plastic {}.",
      "a photo of the cool {}.",
      "a close-up photo of a {}.",
      "a black and white photo of the {}.",
      "a painting of the {}.",
      "a painting of a {}.",
      "a pixelated photo of the {}.",
      "a sculpture of the {}.",
      "a bright photo of the {}.",
      "a cropped photo of a {}.",
      "a plastic {}.",
      "a photo of the dirty {}.",
      "a jpeg corrupted photo of a {}.",
      "a blurry photo of the {}.",
      "a photo of the {}.",
      "a good photo of the {}.",
      "a rendering of the {}.",
      "a {} in a video game.",
      "a photo of one {}.",
      "a doodle of a {}.",
      "a close-up photo of the {}.",
      "a photo of a {}.",
      "the origami {}.",
      "the {} in a video game.",
      "a sketch of a {}.",
      "a doodle of the {}.",
      "a origami {}.",
      "a low resolution photo of a {}.",
      "the toy {}.",
      "a rendition of the {}.",
      "a photo of the clean {}.",
      "a photo of a large {}.",
      "a rendition of a {}.",
      "a photo of a nice {}.",
      "a photo of a weird {}.",
      "a blurry photo of a {}.",
      "a cartoon {}.",
      "art of a {}.",
      "a sketch of the {}.",
      "a embroidered {}.",
      "a pixelated photo of a {}.",
      "itap of the {}.",
      "a jpeg corrupted photo of the {}.",
      "a good photo of a {}.",
      "a plushie {}.",
      "a photo of the nice {}.",
      "a photo of the small {}.",
      "a photo of the weird {}.",
      "the cartoon {}.",
      "art of the {}.",
      "a drawing of the {}.",
      "a photo of the large {}.",
      "a black and white photo of a {}.",
      "the plushie {}.",
      "a dark photo of a {}.",
      "itap of a {}.",
      "graffiti of the {}.",
      "a toy {}.",
      "itap of my {}.",
      "a photo of a cool {}.",
      "a photo of a small {}.",
      "a tattoo of the {}.",
  };
  return templates;
}

}  // namespace

const std::vector<std::string>& prompt_templates(const std::string& name) {
  static const std::vector<std::string> plain = {"{}"};
  static const std::vector<std::string> single = {kSceneTemplate};
  static const std::vector<std::string> select = {"itap of a {}.",
                                                  "a bad photo of the {}.",
                                                  "a origami {}.",
                                                  "a photo of the large {}.",
                                                  "a {} in a video game.",
                                                  "art of the {}.",
                                                  "a photo of the small {}.",
                                                  kSceneTemplate};
  if (name == "plain") return plain;
  if (name == "single") return single;
  if (name == "imagenet") return imagenet_templates();
  if (name == "imagenet_select") return select;
  PAT_FAIL("CLIP prompt templates: unknown set \"", name, "\" (expected plain, single, imagenet or imagenet_select)");
}

std::vector<std::string> prompt_template_names() {
  return {"plain", "single", "imagenet", "imagenet_select"};
}

std::string first_synonym(const std::string& class_name) {
  const auto comma = class_name.find(", ");
  return comma == std::string::npos ? class_name : class_name.substr(0, comma);
}

std::string format_prompt(const std::string& tmpl, const std::string& class_name) {
  PAT_CHECK(tmpl.find("{}") != std::string::npos, "CLIP prompt template \"", tmpl, "\" has no \"{}\" placeholder");
  std::string out;
  size_t start = 0;
  for (size_t pos; (pos = tmpl.find("{}", start)) != std::string::npos; start = pos + 2)
    out += tmpl.substr(start, pos - start) + class_name;
  return out + tmpl.substr(start);
}

std::vector<std::string> class_prompts(const std::string& class_name, const std::vector<std::string>& templates) {
  const std::string name = first_synonym(class_name);
  std::vector<std::string> prompts;
  prompts.reserve(templates.size());
  for (const auto& t : templates) prompts.push_back(format_prompt(t, name));
  return prompts;
}

}  // namespace pat::clip
