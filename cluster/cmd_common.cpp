// Shared helpers of the command verbs.
#include "cluster/cmd_common.hpp"

#include <filesystem>

#include "settings/hash.hpp"
#include "settings/paths.hpp"

namespace tb::cluster {

int cmd_env::fail(const std::string& msg) {
  out.err += "telebox: error: " + msg + "\n";
  return 1;
}

int cmd_env::syntax(const std::string& msg, std::string_view usage) {
  out.err += "telebox: error: " + msg + "\n";
  out.err += "Usage: telebox ";
  out.err += usage;
  out.err += "\n";
  return 2;
}

void cmd_env::event(std::string kind, const settings::machine_config* m,
                    std::string detail) {
  host::host_event e;
  e.kind = std::move(kind);
  if (m) {
    e.uuid = plain_uuid(m->uuid());
    e.name = m->name();
  }
  e.detail = std::move(detail);
  out.events.push_back(std::move(e));
}

settings::machine_config* find_vm(cmd_env& env, const std::string& name) {
  if (auto* m = env.reg.find(name))
    return m;
  for (auto& [entry, why] : env.reg.inaccessible())
    if (plain_uuid(entry.uuid) == plain_uuid(name)) {
      env.fail("The machine " + entry.uuid + " (" + entry.src
               + ") is inaccessible: " + why);
      return nullptr;
    }
  env.fail("Could not find a registered machine named '" + name + "'");
  return nullptr;
}

caf::expected<settings::machine_config>
clone_machine(const settings::machine_config& m) {
  return settings::machine_config::parse(settings::write_xml(m.document()),
                                         m.path());
}

caf::error commit_machine(settings::machine_config& live,
                          settings::machine_config&& edited) {
  if (auto err = edited.save())
    return err;
  live = std::move(edited);
  return {};
}

std::string client_path(const cmd_env& env, const std::string& path) {
  std::error_code ec;
  auto base = env.ctx.cwd.empty() ? std::filesystem::current_path(ec).string()
                                  : env.ctx.cwd;
  auto abs = settings::absolute_path(path, base);
  auto norm = std::filesystem::path(abs).lexically_normal().string();
  if (norm.size() > 1 && norm.back() == '/')
    norm.pop_back();
  return norm;
}

std::string plain_uuid(const std::string& braced) {
  std::string s = braced;
  if (s.size() == 38 && s.front() == '{' && s.back() == '}')
    s = s.substr(1, 36);
  return lower(s);
}

std::string sha256_hex(std::string_view data) {
  return settings::sha256_hex(data);
}

std::string sha512_hex(std::string_view data) {
  return settings::sha512_hex(data);
}

std::string medium_path(registry& reg, const settings::medium_entry& e,
                        const settings::machine_config* owner) {
  auto base = owner ? owner->folder() : reg.global().folder();
  auto abs = settings::absolute_path(e.location, base);
  return std::filesystem::path(abs).lexically_normal().string();
}

std::vector<medium_ref> all_media(registry& reg) {
  std::vector<medium_ref> r;
  auto seen = [&](const std::string& id) {
    for (auto& m : r)
      if (m.entry.uuid == id)
        return true;
    return false;
  };
  for (auto& e : reg.global().media())
    if (!seen(e.uuid))
      r.push_back({e, medium_path(reg, e, nullptr), nullptr});
  for (auto* m : reg.machines())
    for (auto& e : m->media())
      if (!seen(e.uuid))
        r.push_back({e, medium_path(reg, e, m), m});
  return r;
}

std::optional<medium_ref> find_medium(registry& reg, const std::string& key,
                                      std::string_view kind) {
  auto id = plain_uuid(key);
  for (auto& m : all_media(reg)) {
    if (!kind.empty() && m.entry.kind != kind)
      continue;
    if (plain_uuid(m.entry.uuid) == id || m.path == key)
      return m;
  }
  return std::nullopt;
}

std::vector<settings::machine_config*> medium_users(registry& reg,
                                                    const std::string& uuid) {
  std::vector<settings::machine_config*> r;
  auto id = plain_uuid(uuid);
  for (auto* m : reg.machines()) {
    bool uses = false;
    for (auto& c : m->hardware().storage)
      for (auto& d : c.devices)
        if (!d.image_uuid.empty() && plain_uuid(d.image_uuid) == id)
          uses = true;
    if (uses)
      r.push_back(m);
  }
  return r;
}

std::string state_human(const std::string& s) {
  static const std::pair<const char*, const char*> names[] = {
      {"poweroff", "powered off"},
      {"gurumeditation", "guru meditation"},
      {"livesnapshotting", "live snapshotting"},
      {"teleportingpausedvm", "teleporting paused vm"},
      {"teleportingin", "teleporting (incoming)"},
      {"onlinesnapshotting", "online snapshotting"},
  };
  for (auto& [k, v] : names)
    if (s == k)
      return v;
  return s;
}

std::string machine_state(registry& reg, const settings::machine_config& m) {
  const runtime_state rs = reg.state(m.uuid());
  if (rs.state != "poweroff")
    return rs.state;
  const auto& node = m.machine_node();
  if (auto* sf = node.attr("stateFile"); sf && !sf->empty())
    return "saved";
  if (node.attr_or("aborted", "false") == "true")
    return "aborted";
  return "poweroff";
}

bool hardware_locked(registry& reg, const settings::machine_config& m) {
  return reg.is_running(m.uuid()) || machine_state(reg, m) == "saved";
}

int refuse_running(cmd_env& env, const settings::machine_config& m,
                   std::string_view what) {
  auto st = machine_state(env.reg, m);
  auto why = st == "saved" ? "; its saved state would no longer match"
                           : "; power it off first";
  return env.fail(std::string{what} + " cannot be changed while the machine '"
                  + m.name() + "' is " + state_human(st) + " (state " + st + ")"
                  + why);
}

} // namespace tb::cluster

#include <random>

namespace tb::cluster {

std::string progress_line(int upto) {
  std::string s;
  for (int p = 0; p <= upto; p += 10)
    s += std::to_string(p) + (p == 100 ? "%\n" : "%...");
  if (upto < 100)
    s += "\n";
  return s;
}

std::string random_mac() {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::random_device rd;
  std::string s = "080027";
  for (int i = 0; i < 6; ++i)
    s += digits[rd() % 16];
  return s;
}

} // namespace tb::cluster
