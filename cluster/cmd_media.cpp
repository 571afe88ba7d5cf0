// createmedium (createhd, createvdi), closemedium, openmedium: media in the
// global media registry (VirtualBox.xml MediaRegistry).
#include <filesystem>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_verbs.hpp"
#include "storage/medium_create.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

constexpr const char* createmedium_usage =
    "createmedium [disk|dvd|floppy] --filename <filename> "
    "[--size <megabytes>|--sizebyte <bytes>] [--format VDI|RAW] "
    "[--variant Standard,Fixed]";

// "disk" -> HardDisk etc.; empty when not a device type word.
std::string kind_of(std::string_view word) {
  auto w = lower(word);
  if (w == "disk" || w == "hdd")
    return "HardDisk";
  if (w == "dvd")
    return "DVD";
  if (w == "floppy")
    return "Floppy";
  return "";
}

std::string format_name(storage::medium_format f) {
  return f == storage::medium_format::vdi ? "VDI" : "RAW";
}

// Parses --variant's comma list; "" on success, else the message.
std::string parse_variant(const std::string& text,
                          storage::medium_variant& out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto word = lower(text.substr(pos, comma - pos));
    if (word == "fixed")
      out = storage::medium_variant::fixed;
    else if (word != "standard")
      return "Invalid --variant '" + text.substr(pos, comma - pos)
             + "': telebox supports Standard and Fixed";
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return "";
}

bool parse_size(const parsed_args& p, uint64_t& bytes, std::string& error) {
  constexpr uint64_t max_bytes = uint64_t{1} << 52; // VDI: 2^32 1 MiB blocks
  uint64_t n = 0;
  if (auto* o = p.last("sizebyte")) {
    if (!parse_uint(o->value(), 1, max_bytes, n)) {
      error = "Invalid --sizebyte '" + o->value() + "' (1.."
              + std::to_string(max_bytes) + " bytes)";
      return false;
    }
    bytes = n;
    return true;
  }
  if (auto* o = p.last("size")) {
    if (!parse_uint(o->value(), 1, max_bytes >> 20, n)) {
      error = "Invalid --size '" + o->value() + "' (1.."
              + std::to_string(max_bytes >> 20) + " megabytes)";
      return false;
    }
    bytes = n << 20;
    return true;
  }
  error = "Parameter --size or --sizebyte is required";
  return false;
}

// Progress text from the storage callback, completed to 100% on success.
struct progress_printer {
  std::string text;
  int next = 0;
  void operator()(int percent) {
    while (next <= percent && next <= 100) {
      text += std::to_string(next) + (next == 100 ? "%\n" : "%...");
      next += 10;
    }
  }
};

} // namespace

int cmd_createmedium(cmd_env& env, const cmd_args& args) {
  static const std::vector<option_spec> specs{
      {"filename"}, {"size"},        {"sizebyte"},   {"format"},
      {"variant"},  {"remember", 0}, {"diffparent"}, {"type"}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, createmedium_usage);
  std::string kind = "HardDisk";
  if (p.positional.size() > 1
      || (p.positional.size() == 1 && kind_of(p.positional[0]).empty()))
    return env.syntax("Invalid parameter '" + p.positional.back() + "'",
                      createmedium_usage);
  if (p.positional.size() == 1)
    kind = kind_of(p.positional[0]);
  if (kind == "DVD")
    return env.fail("Creating DVD images is not supported: DVD media are "
                    "read-only ISO files; attach one with storageattach");
  if (p.has("diffparent"))
    return env.fail("--diffparent (differencing images) is not supported by "
                    "telebox");
  if (auto* t = p.last("type"); t && lower(t->value()) != "normal")
    return env.fail("--type " + t->value()
                    + " is not supported by "
                      "createmedium here; use storageattach --mtype");
  auto* file = p.last("filename");
  if (!file || file->value().empty())
    return env.syntax("Parameter --filename is required", createmedium_usage);
  uint64_t bytes = 0;
  std::string error;
  if (!parse_size(p, bytes, error))
    return error.rfind("Parameter", 0) == 0
               ? env.syntax(error, createmedium_usage)
               : env.fail(error);
  auto format = kind == "Floppy" ? storage::medium_format::raw
                                 : storage::medium_format::vdi;
  if (kind == "HardDisk") {
    auto def = env.reg.global().properties().default_hard_disk_format;
    if (lower(def) == "raw")
      format = storage::medium_format::raw;
  }
  if (auto* f = p.last("format")) {
    auto v = lower(f->value());
    if (v == "vdi" && kind != "Floppy")
      format = storage::medium_format::vdi;
    else if (v == "raw")
      format = storage::medium_format::raw;
    else
      return env.fail(
          "Invalid --format '" + f->value()
          + "': telebox "
            "creates VDI and RAW images"
          + std::string{kind == "Floppy" ? " (floppies: RAW)" : ""});
  }
  auto variant = storage::medium_variant::standard;
  if (auto* v = p.last("variant"))
    if (auto msg = parse_variant(v->value(), variant); !msg.empty())
      return env.fail(msg);

  auto path = client_path(env, file->value());
  if (fs::path(path).extension().empty())
    path += format == storage::medium_format::vdi ? ".vdi" : ".img";
  std::error_code ec;
  if (fs::exists(path, ec))
    return env.fail("Cannot create the medium '" + path
                    + "': the file already exists");
  if (find_medium(env.reg, path))
    return env.fail("A medium '" + path + "' is already registered");
  if (!fs::is_directory(fs::path(path).parent_path(), ec))
    return env.fail("Cannot create the medium '" + path + "': the folder "
                    + fs::path(path).parent_path().string()
                    + " does not exist");

  progress_printer progress;
  auto info = storage::create_medium(path, format, bytes, variant,
                                     [&](int pct) { progress(pct); });
  if (!info) {
    env.progress(progress.text + (progress.text.empty() ? "" : "\n"));
    return env.fail("Failed to create medium '" + path
                    + "': " + error_text(info.error()));
  }
  progress(100);
  auto id = info->id.is_null() ? storage::uuid::random() : info->id;
  settings::medium_entry e;
  e.kind = kind;
  e.uuid = id.to_braced();
  e.location = path;
  e.format = format_name(format);
  env.reg.global().add_medium(e);
  if (auto err = env.reg.global().save()) {
    env.reg.global().remove_medium(e.uuid);
    fs::remove(path, ec);
    return env.fail("Cannot register the medium '" + path
                    + "': " + error_text(err));
  }
  env.progress(progress.text);
  env.print("Medium created. UUID: " + id.to_string() + "\n");
  env.event("media", nullptr, "created " + path);
  return 0;
}

int cmd_closemedium(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "closemedium [disk|dvd|floppy] <uuid|filename> [--delete]";
  auto p = parse_args(args, {{"delete", 0}});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  std::string kind;
  auto pos = p.positional;
  if (pos.size() == 2) {
    kind = kind_of(pos[0]);
    if (kind.empty())
      return env.syntax("Invalid medium type '" + pos[0] + "'", usage);
    pos.erase(pos.begin());
  }
  if (pos.size() != 1)
    return env.syntax("Expected one medium (UUID or file name)", usage);
  auto med = find_medium(env.reg, pos[0], kind);
  if (!med)
    med = find_medium(env.reg, client_path(env, pos[0]), kind);
  if (!med)
    return env.fail("Could not find a registered medium '" + pos[0] + "'");
  auto users = medium_users(env.reg, med->entry.uuid);
  if (!users.empty())
    return env.fail("Medium '" + med->path
                    + "' cannot be closed because it is still attached to "
                      "virtual machine '"
                    + users[0]->name() + "'");
  if (med->owner) {
    auto edited = clone_machine(*med->owner);
    if (!edited)
      return env.fail(error_text(edited.error()));
    edited->remove_medium(med->entry.uuid);
    if (auto err = commit_machine(*med->owner, std::move(*edited)))
      return env.fail(error_text(err));
  } else {
    env.reg.global().remove_medium(med->entry.uuid);
    if (auto err = env.reg.global().save()) {
      env.reg.global().add_medium(med->entry);
      return env.fail(error_text(err));
    }
  }
  if (p.has("delete")) {
    std::error_code ec;
    fs::remove(med->path, ec);
    env.progress(progress_line());
    if (ec)
      return env.fail("Medium closed, but deleting '" + med->path
                      + "' failed: " + ec.message());
  }
  env.event("media", med->owner, "closed " + med->path);
  return 0;
}

int cmd_openmedium(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage = "openmedium disk|dvd|floppy <filename>";
  auto p = parse_args(args, {});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 2 || kind_of(p.positional[0]).empty())
    return env.syntax("Expected a medium type and a file name", usage);
  auto kind = kind_of(p.positional[0]);
  auto path = client_path(env, p.positional[1]);
  if (find_medium(env.reg, path))
    return env.fail("The medium '" + path + "' is already registered");
  auto info = storage::probe_medium(path);
  if (!info)
    return env.fail("Could not open the medium '" + path
                    + "': " + error_text(info.error()));
  bool is_vdi = info->format == storage::medium_format::vdi;
  if (kind != "HardDisk" && is_vdi)
    return env.fail("'" + path + "' is a VDI hard disk image, not a "
                    + lower(kind) + " image");
  auto id = info->id.is_null() ? storage::uuid::random() : info->id;
  if (find_medium(env.reg, id.to_braced()))
    return env.fail("A medium with UUID " + id.to_string()
                    + " is already registered");
  settings::medium_entry e;
  e.kind = kind;
  e.uuid = id.to_braced();
  e.location = path;
  e.format = is_vdi ? "VDI" : "RAW";
  env.reg.global().add_medium(e);
  if (auto err = env.reg.global().save()) {
    env.reg.global().remove_medium(e.uuid);
    return env.fail(error_text(err));
  }
  env.event("media", nullptr, "registered " + path);
  return 0;
}

} // namespace tb::cluster
