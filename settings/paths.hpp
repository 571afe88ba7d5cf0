// Where VirtualBox keeps its files (virtualbox-compat.md 2.1, seed 004).
#pragma once

#include <string>

#include <caf/expected.hpp>

namespace tb::settings {

/// The global folder: $VBOX_USER_HOME, else an existing $HOME/.VirtualBox,
/// else $XDG_CONFIG_HOME/VirtualBox (default $HOME/.config/VirtualBox),
/// created 0700 when missing. For root, HOME comes from the account
/// database when unset.
caf::expected<std::string> global_folder();

/// The user's home folder ($HOME, else the passwd entry).
std::string home_folder();

/// "$HOME/VirtualBox VMs".
std::string default_machine_folder();

/// VirtualBox's file-name sanitising of a machine name.
std::string sanitise_machine_name(const std::string& name);

/// "<base>/<sanitised name>/<sanitised name>.vbox".
std::string compose_machine_file(const std::string& base_folder,
                                 const std::string& name);

/// `path` made absolute against `base` when relative.
std::string absolute_path(const std::string& path, const std::string& base);

/// `path` relative to `folder` when it lies inside it, else unchanged.
std::string relative_if_inside(const std::string& path,
                               const std::string& folder);

} // namespace tb::settings
