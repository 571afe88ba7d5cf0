// VBoxManage-style option parsing: "--opt value", "--opt=value", 7.0 dashed
// spellings ("--vrde-port") and numbered options ("--nic1", "--boot4").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tb::cluster {

/// One option a verb accepts. `name` is the canonical undashed spelling
/// without "--" ("vrdeport"); `values` is how many arguments follow it;
/// `max_index` > 0 makes it numbered ("nic" with 8 accepts nic1..nic8).
struct option_spec {
  std::string_view name;
  int values = 1;
  int max_index = 0;
};

/// An old spelling and the canonical name it stands for ("vrdp" -> "vrde").
struct option_alias {
  std::string_view from;
  std::string_view to;
};

/// An option as given, in command-line order.
struct parsed_option {
  std::string name;    ///< Canonical name ("nic" for --nic2).
  int index = 0;       ///< 1-based number of a numbered option, else 0.
  std::string spelled; ///< As typed, for messages ("--vrdp-port").
  std::vector<std::string> values;

  const std::string& value() const { return values.front(); }
};

struct parsed_args {
  std::vector<parsed_option> options;
  std::vector<std::string> positional;
  std::string error; ///< Non-empty on a syntax error (exit code 2).

  bool has(std::string_view name) const;
  /// Last occurrence of `name`, or nullptr.
  const parsed_option* last(std::string_view name) const;
};

/// Parses `args` (everything after the verb, or after the VM name).
parsed_args parse_args(const std::vector<std::string>& args,
                       const std::vector<option_spec>& specs,
                       const std::vector<option_alias>& aliases = {});

/// "on"/"off" (any case); returns false when it is neither.
bool parse_on_off(std::string_view text, bool& out);

/// Decimal unsigned integer with no sign, spaces or suffix, within
/// [lo, hi].
bool parse_uint(std::string_view text, uint64_t lo, uint64_t hi, uint64_t& out);

/// Hexadecimal 32-bit value, optional "0x" prefix.
bool parse_hex32(std::string_view text, uint32_t& out);

/// Lowercase copy.
std::string lower(std::string_view s);

} // namespace tb::cluster
