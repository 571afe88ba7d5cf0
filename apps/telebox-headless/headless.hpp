// telebox-headless: runs one VM in the foreground, as VBoxHeadless does.
// Early errors go to stderr before any vCPU starts; the VM log goes to
// <machine folder>/Logs/VBox.log and COM1 to Logs/serial.log.
#pragma once

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "settings/global_config.hpp"
#include "settings/machine_config.hpp"
#include "vmm/machine.hpp"

namespace tb::headless {

/// The command line.
struct options {
  std::string vm;   ///< --startvm <uuid|name>
  std::string vrde; ///< --vrde on|off|config (empty: config)
  bool start_paused = false;
  bool serial_stdout = false; ///< telebox extension: COM1 copied to stdout.
  bool host_service = false;  ///< Attach to the host service (teleboxd).
  bool help = false;
};

/// Parses argv (without the program name). Errors say what is wrong.
caf::expected<options> parse_options(const std::vector<std::string>& args);

/// The usage text.
std::string usage();

/// Finds a registered machine by name or UUID in the global settings.
caf::expected<settings::machine_config>
find_machine(const settings::global_config& global, const std::string& vm);

/// Translates the machine's settings into what the VMM builds. Attachments
/// telebox cannot run yet (DVDs, floppies) are left out with a warning.
caf::expected<vmm::machine_spec>
spec_from_settings(const settings::machine_config& cfg,
                   const settings::global_config& global,
                   std::vector<std::string>* warnings = nullptr);

/// Runs the VM until it powers off (or a signal asks it to). Returns the
/// process exit code: 0 after a poweroff, 1 on errors or an aborted VM.
int run(const options& opts);

} // namespace tb::headless
