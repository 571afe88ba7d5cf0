// convertfromraw, clonemedium (clonehd, clonevdi), modifymedium (modifyhd,
// modifyvdi) and showmediuminfo (showhdinfo, showvdiinfo), on top of
// storage/medium_ops.hpp.
#include <filesystem>
#include <system_error>

#include "actors/error_text.hpp"
#include "cluster/cmd_verbs.hpp"
#include "storage/medium_ops.hpp"

namespace fs = std::filesystem;

namespace tb::cluster {

namespace {

std::string kind_word(std::string_view word) {
  auto w = lower(word);
  if (w == "disk")
    return "HardDisk";
  if (w == "dvd")
    return "DVD";
  if (w == "floppy")
    return "Floppy";
  return "";
}

// Strips a leading disk|dvd|floppy; returns false if the rest has not
// `count` positionals.
bool take_kind(std::vector<std::string>& pos, std::string& kind, size_t count) {
  if (pos.size() == count + 1 && !kind_word(pos[0]).empty()) {
    kind = kind_word(pos[0]);
    pos.erase(pos.begin());
  }
  return pos.size() == count;
}

// A medium named by registered UUID or by file (registered or not).
struct medium_arg {
  std::string path;
  std::optional<medium_ref> ref;
};

std::optional<medium_arg> resolve(cmd_env& env, const std::string& key,
                                  std::string_view kind) {
  if (auto ref = find_medium(env.reg, key, kind))
    return medium_arg{ref->path, ref};
  if (storage::uuid::parse(key)) {
    env.fail("Could not find a registered medium with UUID " + key);
    return std::nullopt;
  }
  auto path = client_path(env, key);
  return medium_arg{path, find_medium(env.reg, path, kind)};
}

bool parse_format_variant(cmd_env& env, const parsed_args& p,
                          storage::medium_format& format,
                          storage::medium_variant& variant) {
  if (auto* f = p.last("format"))
    if (!storage::parse_medium_format(f->value(), format)
        || format == storage::medium_format::iso) {
      env.fail("Invalid --format '" + f->value()
               + "': telebox writes VDI and RAW");
      return false;
    }
  if (auto* v = p.last("variant")) {
    auto parsed = storage::parse_medium_variant(v->value());
    if (!parsed) {
      env.fail(error_text(parsed.error()));
      return false;
    }
    variant = *parsed;
  }
  return true;
}

std::string format_name(storage::medium_format f) {
  return f == storage::medium_format::vdi ? "VDI" : "RAW";
}

} // namespace

int cmd_convertfromraw(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "convertfromraw <filename> <outputfile> [--format VDI|RAW] "
      "[--variant Standard|Fixed] [--uuid <uuid>]";
  auto p = parse_args(args, {{"format"}, {"variant"}, {"uuid"}});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  if (p.positional.size() != 2)
    return env.syntax("Expected an input and an output file", usage);
  if (p.positional[0] == "stdin")
    return env.fail("convertfromraw stdin is not supported by telebox; "
                    "give the raw image as a file");
  auto format = storage::medium_format::vdi;
  auto variant = storage::medium_variant::standard;
  if (!parse_format_variant(env, p, format, variant))
    return 1;
  std::optional<storage::uuid> id;
  if (auto* u = p.last("uuid")) {
    id = storage::uuid::parse(u->value());
    if (!id || id->is_null())
      return env.fail("Invalid UUID format '" + u->value() + "'");
  }
  auto src = client_path(env, p.positional[0]);
  auto dst = client_path(env, p.positional[1]);
  std::error_code ec;
  if (!fs::is_regular_file(src, ec))
    return env.fail("Cannot open the raw image file '" + src + "'");
  if (fs::exists(dst, ec))
    return env.fail("Cannot create '" + dst + "': the file already exists");
  auto bytes = fs::file_size(src, ec);
  env.print("Converting from raw image file=\"" + src + "\" to file=\"" + dst
            + "\"...\n");
  env.print(std::string{"Creating "}
            + (variant == storage::medium_variant::fixed ? "fixed" : "dynamic")
            + " image with size " + std::to_string(bytes) + " bytes ("
            + std::to_string((bytes + (1 << 20) - 1) >> 20) + "MB)...\n");
  auto info = storage::convert_medium(src, dst, format, variant, {},
                                      id ? &*id : nullptr);
  if (!info)
    return env.fail("Converting '" + src
                    + "' failed: " + error_text(info.error()));
  return 0;
}

int cmd_clonemedium(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "clonemedium [disk|dvd|floppy] <uuid|inputfile> <outputfile> "
      "[--format VDI|RAW] [--variant Standard|Fixed]";
  auto p = parse_args(args, {{"format"}, {"variant"}, {"existing", 0}});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  std::string kind;
  auto pos = p.positional;
  if (!take_kind(pos, kind, 2))
    return env.syntax("Expected a source and a target medium", usage);
  if (p.has("existing"))
    return env.fail("--existing (cloning into an existing medium) is not "
                    "supported by telebox");
  auto src = resolve(env, pos[0], kind);
  if (!src)
    return 1;
  auto dst = client_path(env, pos[1]);
  std::error_code ec;
  if (fs::exists(dst, ec))
    return env.fail("Cannot create the medium '" + dst
                    + "': the file already exists");
  auto format = storage::medium_format::vdi;
  auto variant = storage::medium_variant::standard;
  if (kind == "DVD" || kind == "Floppy")
    format = storage::medium_format::raw;
  if (!parse_format_variant(env, p, format, variant))
    return 1;
  std::string progress;
  auto info = storage::convert_medium(src->path, dst, format, variant,
                                      storage::vbox_progress_line(progress));
  env.progress(progress);
  if (!info)
    return env.fail("Failed to clone medium '" + src->path
                    + "': " + error_text(info.error()));
  auto id = info->id.is_null() ? storage::uuid::random() : info->id;
  settings::medium_entry e;
  e.kind = kind.empty() ? (src->ref ? src->ref->entry.kind : "HardDisk") : kind;
  e.uuid = id.to_braced();
  e.location = dst;
  e.format = format_name(format);
  env.reg.global().add_medium(e);
  if (auto err = env.reg.global().save()) {
    env.reg.global().remove_medium(e.uuid);
    return env.fail("Cloned, but registering '" + dst
                    + "' failed: " + error_text(err));
  }
  env.print("Clone medium created in format '" + format_name(format)
            + "'. UUID: " + id.to_string() + "\n");
  env.event("media", nullptr, "cloned " + dst);
  return 0;
}

int cmd_modifymedium(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "modifymedium [disk|dvd|floppy] <uuid|filename> [--resize <MB>|"
      "--resizebyte <bytes>] [--type normal|writethrough|immutable|"
      "shareable|readonly|multiattach]";
  static const std::vector<option_spec> specs{
      {"resize"},     {"resizebyte"},  {"type"},
      {"compact", 0}, {"autoreset"},   {"property"},
      {"move"},       {"setlocation"}, {"description"}};
  auto p = parse_args(args, specs);
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  std::string kind;
  auto pos = p.positional;
  if (!take_kind(pos, kind, 1))
    return env.syntax("Expected one medium", usage);
  for (auto o : {"compact", "autoreset", "property", "move", "setlocation",
                 "description"})
    if (p.has(o))
      return env.fail(std::string{"modifymedium --"} + o
                      + " is not supported by telebox");
  auto med = resolve(env, pos[0], kind);
  if (!med)
    return 1;
  if (med->ref)
    for (auto* user : medium_users(env.reg, med->ref->entry.uuid))
      if (env.reg.is_running(user->uuid()))
        return env.fail("Medium '" + med->path
                        + "' is in use by the running "
                          "machine '"
                        + user->name() + "'");
  std::string type;
  if (auto* t = p.last("type")) {
    for (auto x : {"Normal", "Writethrough", "Immutable", "Shareable",
                   "Readonly", "MultiAttach"})
      if (lower(x) == lower(t->value()))
        type = x;
    if (type.empty())
      return env.fail("Invalid --type '" + t->value() + "'");
    if (!med->ref)
      return env.fail("--type needs a registered medium; '" + med->path
                      + "' is not registered");
  }
  uint64_t bytes = 0;
  if (auto* o = p.last("resizebyte")) {
    if (!parse_uint(o->value(), 1, uint64_t{1} << 52, bytes))
      return env.fail("Invalid --resizebyte '" + o->value() + "'");
  } else if (auto* o = p.last("resize")) {
    if (!parse_uint(o->value(), 1, uint64_t{1} << 32, bytes))
      return env.fail("Invalid --resize '" + o->value() + "' (megabytes)");
    bytes <<= 20;
  }
  if (!type.empty()) {
    auto entry = med->ref->entry;
    entry.type = type;
    if (auto* owner = med->ref->owner) {
      auto edited = clone_machine(*owner);
      if (!edited)
        return env.fail(error_text(edited.error()));
      edited->add_medium(entry);
      if (auto err = commit_machine(*owner, std::move(*edited)))
        return env.fail(error_text(err));
    } else {
      env.reg.global().add_medium(entry);
      if (auto err = env.reg.global().save()) {
        env.reg.global().add_medium(med->ref->entry);
        return env.fail(error_text(err));
      }
    }
  }
  if (bytes) {
    std::string progress;
    auto err = storage::resize_medium(med->path, bytes,
                                      storage::vbox_progress_line(progress));
    env.progress(progress);
    if (err)
      return env.fail("Failed to resize medium '" + med->path
                      + "': " + error_text(err));
  }
  if (bytes || !type.empty())
    env.event("media", med->ref ? med->ref->owner : nullptr,
              "modified " + med->path);
  return 0;
}

int cmd_showmediuminfo(cmd_env& env, const cmd_args& args) {
  constexpr const char* usage =
      "showmediuminfo [disk|dvd|floppy] <uuid|filename>";
  auto p = parse_args(args, {});
  if (!p.error.empty())
    return env.syntax(p.error, usage);
  std::string kind;
  auto pos = p.positional;
  if (!take_kind(pos, kind, 1))
    return env.syntax("Expected one medium", usage);
  auto med = resolve(env, pos[0], kind);
  if (!med)
    return 1;
  std::optional<storage::uuid> id;
  if (med->ref)
    id = storage::uuid::parse(med->ref->entry.uuid);
  auto text = storage::describe_medium(med->path, id ? &*id : nullptr);
  if (!text)
    return env.fail("Could not open the medium '" + med->path
                    + "': " + error_text(text.error()));
  env.print(*text);
  if (med->ref) {
    bool first = true;
    for (auto* m : medium_users(env.reg, med->ref->entry.uuid)) {
      env.print(std::string{first ? "In use by VMs:  " : "                "}
                + m->name() + " (UUID: " + plain_uuid(m->uuid()) + ")\n");
      first = false;
    }
  }
  return 0;
}

} // namespace tb::cluster
