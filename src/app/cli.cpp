#include "pat/app/cli.h"

#include <cstdlib>
#include <iostream>
#include <thread>

#include "pat/core/cpu_cache.h"
#include "pat/core/error.h"
#include "pat/core/log.h"
#include "pat/core/precision.h"
#include "pat/core/runtime.h"
#include "pat/engine/dist/launcher.h"

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
  set_cpu_cache_limit(runtime.cpu_cache_mb << 20);
  seed_all(static_cast<uint64_t>(runtime.seed));
  set_tf32(runtime.tf32);
  check_precision(runtime.precision);
  const auto device = resolve_device(runtime.device);
  if (runtime.precision == "bf16" && !device.is_cuda())
    PAT_LOG_WARN("runtime.precision: bf16 autocast applies to CUDA devices; this {} run computes in fp32",
                 device.str());
  return device;
}

Worker start_worker(const RuntimeConfig& runtime) {
  Worker worker;
  worker.env = engine::read_dist_env();
  const auto& env = worker.env;
  if (!env.distributed()) {
    worker.device = apply_runtime(runtime);
    worker.comm = std::make_shared<engine::Communicator>();
    return worker;
  }
  RuntimeConfig local = runtime;
  if (env.rank != 0) local.log_level = "error";
  if (local.threads == 0)
    local.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / env.local_world_size);
  worker.device = apply_runtime(local);
  if (worker.device.is_cuda()) {
    const bool explicit_index = runtime.device.find(':') != std::string::npos;
    PAT_CHECK(!explicit_index || env.local_world_size == 1, "runtime.device: \"", runtime.device, "\" with ",
              env.local_world_size, " processes on this node; use cuda (or auto) so that each takes GPU LOCAL_RANK");
    if (!explicit_index) worker.device = resolve_device("cuda:" + std::to_string(env.local_rank));
  }
  engine::CommunicatorOptions options;
  options.backend = runtime.dist_backend;
  options.timeout = std::chrono::seconds(runtime.dist_timeout);
  worker.comm = std::make_shared<engine::Communicator>(env, worker.device, options);
  PAT_LOG_INFO("distributed: {} processes ({} launch, {} backend, rendezvous {}:{}), {} thread(s) each on {}",
               env.world_size, env.source, worker.comm->backend(), env.master_addr, env.master_port, local.threads,
               worker.device.str());
  return worker;
}

void add_nproc_flag(CLI::App& app, std::string& nproc, const std::string& what) {
  app.add_option("--nproc", nproc,
                 what +
                     " with N local processes (c10d data parallel); 'auto' = one per GPU. Multi-node jobs: "
                     "start the tool under torchrun or srun instead")
      ->check([](const std::string& v) {
        const bool count =
            !v.empty() && v.size() < 5 && v.find_first_not_of("0123456789") == std::string::npos && std::stoi(v) > 0;
        return v == "auto" || count ? std::string() : "expected a positive process count or auto, got " + v;
      });
}

std::optional<int> launch_workers(const std::string& nproc, int argc, char** argv, const RuntimeConfig& runtime) {
  if (nproc.empty()) return std::nullopt;
  PAT_CHECK(!std::getenv("RANK"), "--nproc: this process is already rank ", std::getenv("RANK"),
            " of a launched job; use either --nproc or a launcher (torchrun, srun), not both");
  configure_logging(runtime.log_level);
  engine::LaunchOptions launch;
  launch.nproc = nproc == "auto" ? std::max<int>(1, static_cast<int>(torch::cuda::device_count())) : std::stoi(nproc);
  return engine::launch_local_workers(engine::remove_flag({argv, argv + argc}, "--nproc"), launch);
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
