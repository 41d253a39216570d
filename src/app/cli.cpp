#include "pat/app/cli.h"

#include <iostream>

#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/runtime.h"

namespace pat::app {

std::unique_ptr<CLI::App> make_app(const std::string& name, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, name);
  app->set_version_flag("--version", name + " " + PAT_VERSION + " (LibTorch " + torch_version() + ")");
  app->footer("Errors are reported as one line starting with 'error:' and a non-zero exit status.");
  return app;
}

void add_config_flags(CLI::App& app, ConfigFlags& flags, bool config_required) {
  auto* config = app.add_option("--config,-c", flags.config, "YAML config file (see configs/)");
  if (config_required) config->required();
  app.add_option("--set", flags.overrides, "Override a config value: --set key.path=value (repeatable; lists as [1,2])")
      ->take_all();
  app.add_flag("--print-config", flags.print_config, "Print the resolved config as YAML and exit");
}

Config load_config(const ConfigFlags& flags) {
  return flags.config.empty() ? default_config(flags.overrides) : pat::load_config(flags.config, flags.overrides);
}

torch::Device apply_runtime(const RuntimeConfig& runtime) {
  configure_logging(runtime.log_level);
  set_threads(runtime.threads);
  seed_all(static_cast<uint64_t>(runtime.seed));
  return resolve_device(runtime.device);
}

int run(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "error: " << detail::one_line(e.what()) << " (see " << app.get_name() << " --help)" << std::endl;
    return 2;
  }
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << "error: " << detail::one_line(e.what()) << std::endl;
    return 1;
  }
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    items.push_back(first == std::string::npos ? "" : item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

}  // namespace pat::app
