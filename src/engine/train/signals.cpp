#include "pat/engine/train/signals.h"

#include <csignal>

namespace pat::engine {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int signal) {
  if (g_signal != 0) std::signal(signal, SIG_DFL);  // second signal: let the default action through next time
  g_signal = signal;
}

}  // namespace

void install_stop_handlers() {
  g_signal = 0;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool stop_requested() {
  return g_signal != 0;
}

int stop_signal() {
  return g_signal;
}

void clear_stop_request() {
  g_signal = 0;
}

}  // namespace pat::engine
