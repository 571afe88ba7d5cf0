#include "display/auth_simple.hpp"

#include <cctype>

#include "settings/hash.hpp"

namespace tb::display {

std::string simple_auth_user(std::string_view user) {
  auto pos = user.rfind('\\');
  return std::string{pos == std::string_view::npos ? user
                                                   : user.substr(pos + 1)};
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool simple_authenticate(const extradata_fn& extradata, std::string_view user,
                         std::string_view password) {
  auto name = simple_auth_user(user);
  if (!extradata || name.empty())
    return false;
  auto stored = extradata("VBoxAuthSimple/users/" + name);
  if (!stored)
    return false;
  std::string want = *stored;
  for (auto& ch : want)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return constant_time_equal(settings::sha256_hex(password), want);
}

} // namespace tb::display
