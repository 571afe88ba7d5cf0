// Host user authentication through PAM, as VirtualBox's default external
// library VBoxAuth does on Linux. Blocking: call it off the event loop.
#pragma once

#include <string>

namespace tb::display {

/// VBoxAuth's PAM service: "login", unless the environment variable
/// VBOX_AUTH_PAM_SERVICE (or the older VRDP_AUTH_PAM_SERVICE) names another
/// (VBoxAuthPAM.c documents the same rule).
inline constexpr const char* pam_default_service = "login";

/// The service pam_authenticate_user uses (environment considered).
std::string pam_service_name();

/// True when PAM authenticates `user` with `password` and the account is
/// valid (pam_authenticate + pam_acct_mgmt). Never logs the password.
bool pam_authenticate_user(const std::string& user,
                           const std::string& password);

} // namespace tb::display
