#pragma once
/// \file Prompt templates and class-name handling for CLIP text embeddings (shared/design/CATSEG.md §1.4).

#include <string>
#include <vector>

namespace pat::clip {

/// CAT-Seg's single template (the one its B/L configs use): exactly "A photo of a {} in the scene".
extern const char* const kSceneTemplate;

/// Template sets by name: "plain" ("{}": the class name itself), "single" (kSceneTemplate), "imagenet" (OpenAI's 80
/// ImageNet templates, from "a bad photo of a {}." to "a tattoo of the {}."), "imagenet_select" (CAT-Seg's 8-template
/// subset, ending with kSceneTemplate). Unknown name: `pat::Error` listing the names.
const std::vector<std::string>& prompt_templates(const std::string& name);

/// The names `prompt_templates` accepts.
std::vector<std::string> prompt_template_names();

/// The first synonym of a comma-separated class name: the text before the first ", " (CAT-Seg's rule;
/// "building, edifice" -> "building"). Names without ", " are returned unchanged.
std::string first_synonym(const std::string& class_name);

/// Replaces every "{}" in `tmpl` with `class_name`. A template without "{}" is a `pat::Error`.
std::string format_prompt(const std::string& tmpl, const std::string& class_name);

/// The prompts for one class: `format_prompt(t, first_synonym(class_name))` for each template, in order.
std::vector<std::string> class_prompts(const std::string& class_name, const std::vector<std::string>& templates);

}  // namespace pat::clip
