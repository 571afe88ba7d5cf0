// PAM for real: a throwaway local user is created (root only), its password
// is accepted and a wrong one refused through the "login" service.
#include <cstdlib>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

#include "display/auth_pam.hpp"

using namespace tb::display;

namespace {

int sh(const std::string& cmd) {
  return std::system(cmd.c_str());
}

class pam_user : public ::testing::Test {
protected:
  void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
    // ASan's crypt_r interceptor has no real function when libcrypt is
    // only dlopen'ed (by pam_unix.so): the call jumps to address 0.
    GTEST_SKIP() << "pam_unix crashes inside ASan's crypt interceptor";
#endif
    if (geteuid() != 0)
      GTEST_SKIP() << "creating a local user needs root";
    if (access("/etc/pam.d/login", R_OK) != 0)
      GTEST_SKIP() << "no PAM login service on this host";
    name_ = "tbvrde" + std::to_string(getpid() % 100000);
    sh("userdel " + name_ + " >/dev/null 2>&1");
    ASSERT_EQ(sh("useradd -M -s /usr/sbin/nologin " + name_), 0);
    created_ = true;
    ASSERT_EQ(sh("echo '" + name_ + ":Corr3ct-horse' | chpasswd"), 0);
  }
  void TearDown() override {
    if (created_)
      sh("userdel " + name_ + " >/dev/null 2>&1");
  }
  std::string name_;
  bool created_ = false;
};

} // namespace

TEST(auth_pam, service_is_login_by_default) {
  unsetenv("VBOX_AUTH_PAM_SERVICE");
  unsetenv("VRDP_AUTH_PAM_SERVICE");
  EXPECT_EQ(pam_service_name(), "login");
  setenv("VRDP_AUTH_PAM_SERVICE", "vrdpauth", 1);
  EXPECT_EQ(pam_service_name(), "vrdpauth");
  setenv("VBOX_AUTH_PAM_SERVICE", "vboxauth", 1);
  EXPECT_EQ(pam_service_name(), "vboxauth");
  unsetenv("VBOX_AUTH_PAM_SERVICE");
  unsetenv("VRDP_AUTH_PAM_SERVICE");
}

TEST_F(pam_user, right_password_accepted_wrong_refused) {
  EXPECT_TRUE(pam_authenticate_user(name_, "Corr3ct-horse"));
  EXPECT_FALSE(pam_authenticate_user(name_, "wrong"));
  EXPECT_FALSE(pam_authenticate_user(name_, ""));
  EXPECT_FALSE(pam_authenticate_user(name_ + "x", "Corr3ct-horse"));
  EXPECT_FALSE(pam_authenticate_user("", "Corr3ct-horse"));
}
