// VBoxAuthSimple: passwords as lowercase SHA-256 hex in the VM's extradata
// "VBoxAuthSimple/users/<user>" (virtualbox-compat.md 5).
#pragma once

#include <string>
#include <string_view>

#include "display/vrde_config.hpp"

namespace tb::display {

/// The user name VBoxAuthSimple looks up: a "DOMAIN\" prefix removed.
std::string simple_auth_user(std::string_view user);

/// True iff the extradata holds the SHA-256 of `password` for `user`
/// (compared in constant time, case-insensitively on the stored hex).
bool simple_authenticate(const extradata_fn& extradata, std::string_view user,
                         std::string_view password);

/// Constant-time equality of two strings of the same length.
bool constant_time_equal(std::string_view a, std::string_view b);

} // namespace tb::display
