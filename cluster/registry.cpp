// The registry keeps VirtualBox.xml's MachineRegistry and the loaded machines
// in step: every add/remove is saved to VirtualBox.xml before it counts.
#include "cluster/registry.hpp"

#include "actors/error_text.hpp"
#include "cluster/cmd_errors.hpp"

namespace tb::cluster {

std::string to_string(cluster_errc x) {
  switch (x) {
  case cluster_errc::duplicate:
    return "duplicate";
  case cluster_errc::not_found:
    return "not_found";
  case cluster_errc::invalid_state:
    return "invalid_state";
  case cluster_errc::io_error:
    return "io_error";
  }
  return "cluster_errc(" + std::to_string(static_cast<int>(x)) + ")";
}

namespace {

std::string normalise_uuid(std::string s) {
  if (s.size() == 36)
    s = "{" + s + "}";
  for (auto& c : s)
    if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// States in which a VM process exists (VBoxManage VMState names).
bool is_live_state(const std::string& s) {
  return !(s.empty() || s == "poweroff" || s == "saved" || s == "teleported"
           || s == "aborted" || s == "aborted-saved");
}

} // namespace

caf::expected<std::unique_ptr<registry>>
registry::open(const std::string& folder) {
  auto g = settings::global_config::load(folder);
  if (!g)
    return g.error();
  std::unique_ptr<registry> r{new registry};
  r->global_.emplace(std::move(*g));
  for (auto& e : r->global_->machines()) {
    auto m = settings::machine_config::load(e.src);
    if (!m)
      r->broken_.emplace_back(e, error_text(m.error()));
    else
      r->machines_.push_back(
          std::make_unique<settings::machine_config>(std::move(*m)));
  }
  return r;
}

settings::global_config& registry::global() {
  return *global_;
}

std::vector<settings::machine_config*> registry::machines() {
  std::vector<settings::machine_config*> r;
  for (auto& m : machines_)
    r.push_back(m.get());
  return r;
}

settings::machine_config* registry::find(const std::string& name_or_uuid) {
  for (auto& m : machines_)
    if (m->name() == name_or_uuid)
      return m.get();
  auto id = normalise_uuid(name_or_uuid);
  for (auto& m : machines_)
    if (m->uuid() == id)
      return m.get();
  return nullptr;
}

std::vector<std::pair<settings::machine_entry, std::string>>
registry::inaccessible() const {
  return broken_;
}

caf::error registry::add(settings::machine_config cfg) {
  auto id = cfg.uuid();
  for (auto& m : machines_) {
    if (m->uuid() == id)
      return caf::make_error(cluster_errc::duplicate,
                             "A machine with UUID " + id.substr(1, 36)
                                 + " is already registered ('" + m->name()
                                 + "', " + m->path() + ")");
    if (m->name() == cfg.name())
      return caf::make_error(cluster_errc::duplicate,
                             "A machine named '" + cfg.name()
                                 + "' is already registered (UUID "
                                 + m->uuid().substr(1, 36) + ")");
    if (m->path() == cfg.path())
      return caf::make_error(cluster_errc::duplicate,
                             "The settings file " + cfg.path()
                                 + " is already registered");
  }
  for (auto& b : broken_)
    if (b.first.uuid == id || b.first.src == cfg.path())
      return caf::make_error(cluster_errc::duplicate,
                             "A machine with UUID " + id.substr(1, 36)
                                 + " is already registered (inaccessible, "
                                 + b.first.src + ")");
  global_->add_machine({id, cfg.path()});
  if (auto err = global_->save()) {
    global_->remove_machine(id);
    return err;
  }
  machines_.push_back(
      std::make_unique<settings::machine_config>(std::move(cfg)));
  return {};
}

caf::error registry::remove(const std::string& uuid_braced) {
  auto id = normalise_uuid(uuid_braced);
  std::string src;
  for (auto& e : global_->machines())
    if (e.uuid == id)
      src = e.src;
  if (src.empty())
    return caf::make_error(cluster_errc::not_found,
                           "No machine with UUID " + id + " is registered");
  global_->remove_machine(id);
  if (auto err = global_->save()) {
    global_->add_machine({id, src});
    return err;
  }
  std::erase_if(machines_, [&](auto& m) { return m->uuid() == id; });
  std::erase_if(broken_, [&](auto& b) { return b.first.uuid == id; });
  states_.erase(id);
  return {};
}

runtime_state registry::state(const std::string& uuid_braced) const {
  auto i = states_.find(normalise_uuid(uuid_braced));
  return i == states_.end() ? runtime_state{} : i->second;
}

void registry::set_state(const std::string& uuid_braced, runtime_state st) {
  states_[normalise_uuid(uuid_braced)] = std::move(st);
}

bool registry::is_running(const std::string& uuid_braced) const {
  auto i = states_.find(normalise_uuid(uuid_braced));
  return i != states_.end() && is_live_state(i->second.state);
}

} // namespace tb::cluster
