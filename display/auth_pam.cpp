#include "display/auth_pam.hpp"

#include <cstdlib>
#include <cstring>

#include <security/pam_appl.h>

namespace tb::display {

namespace {

/// Answers every echo-off prompt with the password and echo-on prompts with
/// the user name; informational messages get empty replies.
int conversation(int n, const struct pam_message** msg,
                 struct pam_response** resp, void* data) {
  if (n <= 0 || n > PAM_MAX_NUM_MSG)
    return PAM_CONV_ERR;
  auto* creds = static_cast<const std::pair<std::string, std::string>*>(data);
  auto* r = static_cast<pam_response*>(std::calloc(n, sizeof(pam_response)));
  if (!r)
    return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    const char* answer = nullptr;
    switch (msg[i]->msg_style) {
    case PAM_PROMPT_ECHO_OFF:
      answer = creds->second.c_str();
      break;
    case PAM_PROMPT_ECHO_ON:
      answer = creds->first.c_str();
      break;
    default:
      break;
    }
    if (answer && !(r[i].resp = strdup(answer))) {
      for (int j = 0; j < i; ++j)
        std::free(r[j].resp);
      std::free(r);
      return PAM_BUF_ERR;
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

} // namespace

std::string pam_service_name() {
  for (const char* env : {"VBOX_AUTH_PAM_SERVICE", "VRDP_AUTH_PAM_SERVICE"})
    if (const char* v = std::getenv(env); v && *v)
      return v;
  return pam_default_service;
}

bool pam_authenticate_user(const std::string& user,
                           const std::string& password) {
  if (user.empty())
    return false;
  std::pair<std::string, std::string> creds{user, password};
  struct pam_conv conv = {conversation, &creds};
  pam_handle_t* h = nullptr;
  auto service = pam_service_name();
  if (pam_start(service.c_str(), user.c_str(), &conv, &h) != PAM_SUCCESS)
    return false;
  int rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (rc == PAM_SUCCESS)
    rc = pam_acct_mgmt(h, PAM_SILENT);
  pam_end(h, rc);
  // Scrub our copy of the password.
  volatile char* p = creds.second.data();
  for (size_t i = 0; i < creds.second.size(); ++i)
    p[i] = 0;
  return rc == PAM_SUCCESS;
}

} // namespace tb::display
