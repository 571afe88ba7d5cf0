// Multiboot v1 loader (Multiboot Specification 0.6.96): finds the header in
// the first 8 KiB, loads an ELF32 image by its program headers (or the
// a.out-kludge address fields), passes the initrd as module 0, and enters
// 32-bit protected mode with EAX = 0x2BADB002, EBX = the info structure.
#include <cstring>

#include "vmm/boot.hpp"
#include "vmm/errors.hpp"
#include "vmm/x86_setup.hpp"

namespace tb::vmm {

namespace {

constexpr uint32_t header_magic = 0x1BADB002;
constexpr uint32_t boot_magic = 0x2BADB002;
constexpr uint32_t search_limit = 8192;
constexpr uint32_t flag_page_align = 1u << 0;
constexpr uint32_t flag_memory_info = 1u << 1;
constexpr uint32_t flag_video_mode = 1u << 2;
constexpr uint32_t flag_address = 1u << 16;

// Where the loader puts its structures; all below the usual 1 MiB kernel.
constexpr uint64_t info_addr = 0x6000;    // multiboot_info (0x58 bytes).
constexpr uint64_t mods_addr = 0x6100;    // One module entry (16 bytes).
constexpr uint64_t mmap_addr = 0x6200;    // e820 copy, 24 bytes/entry.
constexpr uint64_t name_addr = 0x6f00;    // boot_loader_name.
constexpr uint64_t mod_str_addr = 0x6f80; // Module 0 string.
constexpr uint64_t low_area_end = boot_cmdline_addr + boot_cmdline_max;

// multiboot_info flags.
constexpr uint32_t info_mem = 1u << 0;
constexpr uint32_t info_cmdline = 1u << 2;
constexpr uint32_t info_mods = 1u << 3;
constexpr uint32_t info_mmap = 1u << 6;
constexpr uint32_t info_loader_name = 1u << 9;

struct mb_header {
  uint32_t offset = 0; ///< File offset of the magic.
  uint32_t flags = 0;
  uint32_t header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0,
           entry_addr = 0;
};

uint32_t le32(std::span<const uint8_t> b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

uint16_t le16(std::span<const uint8_t> b, size_t off) {
  uint16_t v;
  std::memcpy(&v, b.data() + off, 2);
  return v;
}

caf::error bad(const std::string& name, const std::string& why) {
  return make_vmm_error(vmm_errc::bad_image,
                        "Multiboot kernel " + name + ": " + why);
}

std::optional<mb_header> find_header(std::span<const uint8_t> img) {
  auto limit = std::min<size_t>(img.size(), search_limit);
  for (size_t off = 0; off + 12 <= limit; off += 4) {
    if (le32(img, off) != header_magic)
      continue;
    auto flags = le32(img, off + 4);
    if (static_cast<uint32_t>(header_magic + flags + le32(img, off + 8)) != 0)
      continue;
    mb_header h;
    h.offset = static_cast<uint32_t>(off);
    h.flags = flags;
    if ((flags & flag_address) && off + 32 <= img.size()) {
      h.header_addr = le32(img, off + 12);
      h.load_addr = le32(img, off + 16);
      h.load_end_addr = le32(img, off + 20);
      h.bss_end_addr = le32(img, off + 24);
      h.entry_addr = le32(img, off + 28);
    }
    return h;
  }
  return std::nullopt;
}

caf::error check_target(const std::string& name, const guest_memory& mem,
                        uint64_t start, uint64_t len) {
  if (start < low_area_end && len > 0)
    return bad(name, "loads at " + std::to_string(start)
                         + ", inside the area the loader uses below "
                         + std::to_string(low_area_end));
  if (!mem.host_ptr(start, len))
    return bad(name, "does not fit in guest RAM (needs up to "
                         + std::to_string((start + len) >> 20) + " MiB)");
  return caf::none;
}

/// Loads PT_LOAD segments of an ELF32 i386 image; returns [start, end).
caf::expected<std::pair<uint64_t, uint64_t>>
load_elf32(guest_memory& mem, const boot_images& in, uint32_t& entry) {
  std::span<const uint8_t> img = in.kernel;
  const auto& name = in.kernel_name;
  if (img.size() < 52
      || std::memcmp(img.data(),
                     "\x7f"
                     "ELF",
                     4)
             != 0)
    return bad(name, "no ELF header and no a.out-kludge addresses (flag 16)");
  if (img[4] != 1 || img[5] != 1)
    return bad(name, "not a little-endian ELF32 file");
  if (le16(img, 18) != 3)
    return bad(name, "ELF machine is not i386");
  entry = le32(img, 24);
  uint32_t phoff = le32(img, 28);
  uint16_t phentsize = le16(img, 42), phnum = le16(img, 44);
  if (phentsize < 32 || phoff > img.size()
      || uint64_t{phnum} * phentsize > img.size() - phoff)
    return bad(name, "program header table lies outside the file");
  uint64_t lo = UINT64_MAX, hi = 0;
  for (uint16_t i = 0; i < phnum; ++i) {
    size_t ph = phoff + size_t{i} * phentsize;
    if (le32(img, ph) != 1) // PT_LOAD
      continue;
    uint32_t off = le32(img, ph + 4), paddr = le32(img, ph + 12),
             filesz = le32(img, ph + 16), memsz = le32(img, ph + 20);
    if (filesz > memsz || off > img.size() || filesz > img.size() - off)
      return bad(name, "segment " + std::to_string(i)
                           + " lies outside the "
                             "file");
    if (auto err = check_target(name, mem, paddr, memsz))
      return err;
    std::memcpy(mem.host_ptr(paddr, memsz), img.data() + off, filesz);
    std::memset(mem.host_ptr(paddr, memsz) + filesz, 0, memsz - filesz);
    lo = std::min<uint64_t>(lo, paddr);
    hi = std::max<uint64_t>(hi, uint64_t{paddr} + memsz);
  }
  if (hi == 0)
    return bad(name, "ELF file has no loadable segment");
  return std::make_pair(lo, hi);
}

/// The a.out kludge: flat image located by the header's address fields.
caf::expected<std::pair<uint64_t, uint64_t>>
load_flat(guest_memory& mem, const boot_images& in, const mb_header& h) {
  const auto& name = in.kernel_name;
  if (h.load_addr > h.header_addr || h.header_addr - h.load_addr > h.offset)
    return bad(name, "header_addr/load_addr do not match the file");
  uint64_t file_off = h.offset - (h.header_addr - h.load_addr);
  uint64_t end = h.load_end_addr ? h.load_end_addr
                                 : h.load_addr + (in.kernel.size() - file_off);
  if (end < h.load_addr || end - h.load_addr > in.kernel.size() - file_off)
    return bad(name, "load_end_addr lies beyond the file");
  uint64_t bss_end = std::max<uint64_t>(h.bss_end_addr, end);
  if (auto err = check_target(name, mem, h.load_addr, bss_end - h.load_addr))
    return err;
  auto* p = mem.host_ptr(h.load_addr, bss_end - h.load_addr);
  std::memcpy(p, in.kernel.data() + file_off, end - h.load_addr);
  std::memset(p + (end - h.load_addr), 0, bss_end - end);
  return std::make_pair(uint64_t{h.load_addr}, bss_end);
}

caf::error write_mmap(guest_memory& mem, uint32_t& length) {
  std::vector<uint8_t> buf;
  for (auto& e : e820_map(mem)) {
    uint8_t rec[24];
    uint32_t size = 20;
    std::memcpy(rec, &size, 4);
    std::memcpy(rec + 4, &e.addr, 8);
    std::memcpy(rec + 12, &e.size, 8);
    std::memcpy(rec + 20, &e.type, 4);
    buf.insert(buf.end(), rec, rec + 24);
  }
  length = static_cast<uint32_t>(buf.size());
  return mem.write(mmap_addr, buf);
}

caf::error write_string(guest_memory& mem, uint64_t gpa, const std::string& s,
                        uint64_t max) {
  if (s.size() + 1 > max)
    return make_vmm_error(vmm_errc::bad_config,
                          "kernel command line is longer than "
                              + std::to_string(max - 1) + " bytes");
  std::vector<uint8_t> bytes(s.begin(), s.end());
  bytes.push_back(0);
  return mem.write(gpa, bytes);
}

/// Module 0 = the initrd, page aligned after the kernel.
caf::expected<uint32_t> load_module(guest_memory& mem, const boot_images& in,
                                    uint64_t kernel_end, boot_plan& plan) {
  uint64_t start = (kernel_end + page_size - 1) & ~(page_size - 1);
  auto* p = mem.host_ptr(start, in.initrd.size());
  if (!p || start + in.initrd.size() > UINT32_MAX)
    return make_vmm_error(vmm_errc::bad_config,
                          "initrd " + in.initrd_name + " ("
                              + std::to_string(in.initrd.size() >> 20)
                              + " MiB) does not fit in guest RAM below 4 GiB");
  std::memcpy(p, in.initrd.data(), in.initrd.size());
  plan.initrd_start = start;
  plan.initrd_size = in.initrd.size();
  uint32_t mod[4] = {static_cast<uint32_t>(start),
                     static_cast<uint32_t>(start + in.initrd.size()),
                     static_cast<uint32_t>(mod_str_addr), 0};
  if (auto err =
          write_string(mem, mod_str_addr, in.initrd_name.substr(0, 100), 0x80))
    return err;
  if (auto err =
          mem.write(mods_addr, {reinterpret_cast<uint8_t*>(mod), sizeof mod}))
    return err;
  return info_mods;
}

caf::error write_info(guest_memory& mem, const boot_images& in,
                      uint64_t kernel_end, boot_plan& plan) {
  uint32_t info[22] = {};
  uint32_t flags = info_mem | info_cmdline | info_mmap | info_loader_name;
  info[1] = 640; // mem_lower KiB
  info[2] = static_cast<uint32_t>((mem.ram_below_4g() - high_memory_start)
                                  / 1024);            // mem_upper KiB
  info[4] = static_cast<uint32_t>(boot_cmdline_addr); // cmdline
  if (!in.initrd.empty()) {
    auto f = load_module(mem, in, kernel_end, plan);
    if (!f)
      return f.error();
    flags |= *f;
    info[5] = 1;                                // mods_count
    info[6] = static_cast<uint32_t>(mods_addr); // mods_addr
  }
  uint32_t mmap_len = 0;
  if (auto err = write_mmap(mem, mmap_len))
    return err;
  info[11] = mmap_len;                         // mmap_length
  info[12] = static_cast<uint32_t>(mmap_addr); // mmap_addr
  info[16] = static_cast<uint32_t>(name_addr); // boot_loader_name
  info[0] = flags;
  if (auto err =
          write_string(mem, boot_cmdline_addr, in.cmdline, boot_cmdline_max))
    return err;
  if (auto err = write_string(mem, name_addr, "telebox", 0x80))
    return err;
  return mem.write(info_addr, {reinterpret_cast<uint8_t*>(info), sizeof info});
}

} // namespace

caf::expected<boot_plan> load_multiboot(guest_memory& mem,
                                        const boot_images& in) {
  auto h = find_header(in.kernel);
  if (!h)
    return bad(in.kernel_name, "no Multiboot header in the first 8 KiB");
  // Bits 0-15 are requirements: a loader must refuse ones it cannot meet.
  auto required = h->flags & 0xffff;
  if (required & flag_video_mode)
    return bad(in.kernel_name, "requests a video mode (flag 2), which "
                               "telebox's loader does not set up");
  if (required & ~(flag_page_align | flag_memory_info | flag_video_mode))
    return bad(in.kernel_name, "requires unknown Multiboot features (flags "
                                   + std::to_string(h->flags) + ")");
  uint32_t entry = 0;
  auto range = (h->flags & flag_address) ? load_flat(mem, in, *h)
                                         : load_elf32(mem, in, entry);
  if (!range)
    return range.error();
  if (h->flags & flag_address)
    entry = h->entry_addr;
  boot_plan plan;
  plan.format = kernel_format::multiboot;
  plan.kernel_start = range->first;
  plan.kernel_end = range->second;
  if (auto err = write_info(mem, in, range->second, plan))
    return err;
  if (auto err = write_boot_gdt(mem, false))
    return err;
  plan.bsp = flat_protected_mode();
  plan.bsp.regs.rax = boot_magic;
  plan.bsp.regs.rbx = info_addr;
  plan.bsp.regs.rip = entry;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "Multiboot kernel %s: %#llx-%#llx, entry %#x, %zu byte "
                "initrd",
                in.kernel_name.c_str(),
                static_cast<unsigned long long>(plan.kernel_start),
                static_cast<unsigned long long>(plan.kernel_end), entry,
                in.initrd.size());
  plan.summary = buf;
  return plan;
}

} // namespace tb::vmm
