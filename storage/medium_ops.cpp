// resize_medium, describe_medium and the small CLI helpers of medium_ops.hpp.
#include "storage/medium_ops.hpp"

#include <cctype>
#include <filesystem>

#include "storage/errors.hpp"
#include "storage/medium_image.hpp"
#include "storage/raw_image.hpp"
#include "storage/vdi_image.hpp"

namespace tb::storage {

caf::error resize_medium(const std::string& path, uint64_t new_size,
                         const progress_fn& progress) {
  open_options options;
  options.writable = true;
  options.owner = "modifymedium";
  auto img = open_medium(path, options);
  if (!img)
    return img.error();
  if (progress)
    progress(0);
  caf::error err;
  if (auto vdi = dynamic_cast<vdi_image*>(img->get()))
    err = vdi->resize(new_size);
  else if (auto raw = dynamic_cast<raw_image*>(img->get()))
    err = raw->resize(new_size);
  if (!err && progress)
    progress(100);
  return err;
}

namespace {

std::string label(const std::string& name) {
  std::string text = name + ":";
  text.resize(std::max<size_t>(16, text.size() + 1), ' ');
  return text;
}

std::string format_name(medium_format f) {
  switch (f) {
  case medium_format::vdi:
    return "VDI";
  case medium_format::raw:
    return "RAW";
  case medium_format::iso:
    return "RAW";
  }
  return "?";
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

} // namespace

caf::expected<std::string> describe_medium(const std::string& path,
                                           const uuid* id) {
  auto img = open_medium(path, open_options{});
  if (!img)
    return img.error();
  auto info = (*img)->info();
  uuid shown = id ? *id : info.id;
  constexpr uint64_t mib = 1 << 20;
  std::string out;
  auto line = [&](const std::string& name, const std::string& value) {
    out += label(name) + value + "\n";
  };
  if (!shown.is_null())
    line("UUID", shown.to_string());
  line("Parent UUID", "base");
  line("State", "created");
  line("Type",
       info.format == medium_format::iso ? "readonly" : "normal (base)");
  line("Location", absolute_path(path));
  line("Storage format", format_name(info.format));
  line("Format variant", info.variant == medium_variant::fixed
                                 || info.format != medium_format::vdi
                             ? "fixed default"
                             : "dynamic default");
  line("Capacity", std::to_string(info.logical_size / mib) + " MBytes");
  line("Size on disk",
       std::to_string((*img)->size_on_disk() / mib) + " MBytes");
  line("Encryption", "disabled");
  if (info.format == medium_format::vdi)
    line("Property", "AllocationBlockSize=1048576");
  return out;
}

progress_fn vbox_progress_line(std::string& out) {
  auto next = std::make_shared<int>(0);
  return [&out, next](int percent) {
    while (*next <= percent && *next <= 100) {
      out += std::to_string(*next) + (*next == 100 ? "%\n" : "%...");
      *next += 10;
    }
  };
}

bool parse_medium_format(const std::string& text, medium_format& out) {
  std::string up;
  for (char c : text)
    up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (up == "VDI")
    out = medium_format::vdi;
  else if (up == "RAW")
    out = medium_format::raw;
  else if (up == "ISO")
    out = medium_format::iso;
  else
    return false;
  return true;
}

caf::expected<medium_variant> parse_medium_variant(const std::string& text) {
  bool fixed = false, standard = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string word;
    for (size_t i = pos; i < end; ++i)
      if (!std::isspace(static_cast<unsigned char>(text[i])))
        word += static_cast<char>(
            std::tolower(static_cast<unsigned char>(text[i])));
    if (word == "fixed")
      fixed = true;
    else if (word == "standard")
      standard = true;
    else
      return make_storage_error(storage_errc::invalid_argument,
                                "invalid medium variant '" + word
                                    + "' (telebox supports Standard, Fixed)");
    pos = end + 1;
  }
  if (fixed && standard)
    return make_storage_error(storage_errc::invalid_argument,
                              "medium variants Standard and Fixed exclude "
                              "each other");
  return fixed ? medium_variant::fixed : medium_variant::standard;
}

} // namespace tb::storage
