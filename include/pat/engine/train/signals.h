#pragma once
/// \file SIGINT/SIGTERM as a request to stop: long loops poll `stop_requested()` and finish cleanly
/// (the trainer writes a checkpoint first). A second signal while a stop is pending restores the default
/// action, so a stuck process can still be killed.

namespace pat::engine {

/// Installs the handlers (idempotent) and clears any pending request.
void install_stop_handlers();
/// True once SIGINT or SIGTERM arrived after `install_stop_handlers`.
bool stop_requested();
/// The signal number that asked to stop (0 when none).
int stop_signal();
/// Clears the pending request (tests).
void clear_stop_request();

}  // namespace pat::engine
