// Linux x86 boot protocol loader, 64-bit entry (Documentation/x86/boot.rst
// "64-bit Boot Protocol", zero-page.rst, kvm-vmm.md B.1-B.5): protected-mode
// kernel at its load address, boot_params at 0x7000 with the copied setup
// header, command line, e820 map, initrd high below initrd_addr_max, and a
// VESA-linear-framebuffer screen_info for the display device.
#include <cstring>

#include "vmm/boot.hpp"
#include "vmm/errors.hpp"
#include "vmm/x86_setup.hpp"

namespace tb::vmm {

namespace {

// Offsets inside boot_params / the bzImage (the header sits at 0x1f1 in
// both).
constexpr size_t hdr_setup_sects = 0x1f1;
constexpr size_t hdr_vid_mode = 0x1fa;
constexpr size_t hdr_end_byte = 0x201; // Header length after 0x202.
constexpr size_t hdr_magic = 0x202;    // "HdrS"
constexpr size_t hdr_version = 0x206;
constexpr size_t hdr_type_of_loader = 0x210;
constexpr size_t hdr_loadflags = 0x211;
constexpr size_t hdr_ramdisk_image = 0x218;
constexpr size_t hdr_ramdisk_size = 0x21c;
constexpr size_t hdr_cmd_line_ptr = 0x228;
constexpr size_t hdr_initrd_addr_max = 0x22c;
constexpr size_t hdr_kernel_alignment = 0x230;
constexpr size_t hdr_relocatable = 0x234;
constexpr size_t hdr_xloadflags = 0x236;
constexpr size_t hdr_cmdline_size = 0x238;
constexpr size_t hdr_pref_address = 0x258;
constexpr size_t hdr_init_size = 0x260;
constexpr size_t bp_e820_entries = 0x1e8;
constexpr size_t bp_e820_table = 0x2d0;
constexpr size_t bp_e820_max = 128;

constexpr uint8_t loadflags_loaded_high = 0x01;
constexpr uint16_t xlf_kernel_64 = 0x01;
constexpr uint16_t min_protocol = 0x020c; // xloadflags (64-bit entry flag).

uint8_t u8(std::span<const uint8_t> b, size_t o) {
  return b[o];
}
uint16_t u16(std::span<const uint8_t> b, size_t o) {
  uint16_t v;
  std::memcpy(&v, b.data() + o, 2);
  return v;
}
uint32_t u32(std::span<const uint8_t> b, size_t o) {
  uint32_t v;
  std::memcpy(&v, b.data() + o, 4);
  return v;
}
uint64_t u64(std::span<const uint8_t> b, size_t o) {
  uint64_t v;
  std::memcpy(&v, b.data() + o, 8);
  return v;
}

template <class T> void put(std::vector<uint8_t>& b, size_t o, T v) {
  std::memcpy(b.data() + o, &v, sizeof v);
}

caf::error bad(const std::string& name, const std::string& why) {
  return make_vmm_error(vmm_errc::bad_image,
                        "Linux kernel " + name + ": " + why);
}

std::string mib(uint64_t bytes) {
  return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

/// The facts of a bzImage header the loader needs.
struct bz_header {
  uint16_t version = 0;
  size_t setup_size = 0; ///< Real-mode part, (setup_sects + 1) * 512.
  size_t header_end = 0; ///< One past the last setup-header byte.
  uint32_t initrd_addr_max = 0x37ffffff;
  uint32_t kernel_alignment = 0x200000;
  bool relocatable = false;
  uint32_t cmdline_size = 255;
  uint64_t pref_address = 0x100000;
  uint32_t init_size = 0;
};

caf::expected<bz_header> parse_header(std::span<const uint8_t> img,
                                      const std::string& name) {
  if (img.size() < 0x264 || std::memcmp(img.data() + hdr_magic, "HdrS", 4))
    return bad(name, "no \"HdrS\" setup header at 0x202 (not a bzImage)");
  bz_header h;
  h.version = u16(img, hdr_version);
  if (h.version < min_protocol)
    return bad(name, "boot protocol " + std::to_string(h.version >> 8) + "."
                         + std::to_string(h.version & 0xff)
                         + " is older than 2.12 and has no 64-bit entry");
  if (!(u16(img, hdr_xloadflags) & xlf_kernel_64))
    return bad(name, "has no 64-bit entry point (xloadflags bit 0 clear); "
                     "32-bit kernels are not supported");
  if (!(u8(img, hdr_loadflags) & loadflags_loaded_high))
    return bad(name, "is a zImage (loaded low); only bzImage is supported");
  auto sects = u8(img, hdr_setup_sects);
  h.setup_size = size_t{sects ? sects : 4u} * 512 + 512;
  h.header_end = hdr_magic + u8(img, hdr_end_byte);
  if (h.setup_size >= img.size() || h.header_end > h.setup_size)
    return bad(name, "setup size " + std::to_string(h.setup_size)
                         + " does not fit the file");
  h.initrd_addr_max = u32(img, hdr_initrd_addr_max);
  h.kernel_alignment = u32(img, hdr_kernel_alignment);
  h.relocatable = u8(img, hdr_relocatable) != 0;
  h.cmdline_size = u32(img, hdr_cmdline_size);
  h.pref_address = u64(img, hdr_pref_address);
  h.init_size = u32(img, hdr_init_size);
  if (h.kernel_alignment == 0
      || (h.kernel_alignment & (h.kernel_alignment - 1)))
    return bad(name, "kernel_alignment " + std::to_string(h.kernel_alignment)
                         + " is not a power of two");
  return h;
}

/// Where the protected-mode kernel goes: a relocatable kernel at the first
/// aligned address above 1 MiB, otherwise at its preferred address.
uint64_t load_address(const bz_header& h) {
  if (!h.relocatable)
    return h.pref_address;
  uint64_t a = h.kernel_alignment;
  return (high_memory_start + a - 1) & ~(a - 1);
}

void put_e820(std::vector<uint8_t>& bp, const guest_memory& mem) {
  auto map = e820_map(mem);
  size_t n = std::min(map.size(), bp_e820_max);
  for (size_t i = 0; i < n; ++i) {
    size_t o = bp_e820_table + i * 20;
    put(bp, o, map[i].addr);
    put(bp, o + 8, map[i].size);
    put(bp, o + 16, map[i].type);
  }
  bp[bp_e820_entries] = static_cast<uint8_t>(n);
}

/// screen_info as a VESA linear frame buffer (VIDEO_TYPE_VLFB), XRGB8888.
void put_screen_info(std::vector<uint8_t>& bp, const framebuffer_info& fb) {
  bp[0x0f] = 0x23; // orig_video_isVGA = VIDEO_TYPE_VLFB -> vesafb
  put(bp, 0x12, static_cast<uint16_t>(fb.width));
  put(bp, 0x14, static_cast<uint16_t>(fb.height));
  put(bp, 0x16, static_cast<uint16_t>(fb.bpp));
  put(bp, 0x18, static_cast<uint32_t>(fb.base));
  // vesafb reads lfb_size in 64 KiB units (the VBE convention).
  put(bp, 0x1c, static_cast<uint32_t>((fb.size + 0xffff) >> 16));
  put(bp, 0x24, static_cast<uint16_t>(fb.stride));
  const uint8_t channels[8] = {8, 16, 8, 8, 8, 0, 8, 24}; // R G B X size/pos
  std::memcpy(bp.data() + 0x26, channels, sizeof channels);
  put(bp, 0x32, uint16_t{1}); // pages
  if (fb.base >> 32) {
    put(bp, 0x36, uint32_t{2}); // VIDEO_CAPABILITY_64BIT_BASE
    put(bp, 0x3a, static_cast<uint32_t>(fb.base >> 32));
  }
}

/// The initrd goes as high as allowed, page aligned, above the kernel.
caf::expected<uint64_t> place_initrd(guest_memory& mem, const boot_images& in,
                                     const bz_header& h, uint64_t kernel_end) {
  uint64_t limit =
      std::min<uint64_t>(uint64_t{h.initrd_addr_max} + 1, mem.ram_below_4g());
  limit = std::min(limit, kvm_reserved_start);
  uint64_t size = in.initrd.size();
  if (size > limit || ((limit - size) & ~(page_size - 1)) < kernel_end)
    return make_vmm_error(vmm_errc::bad_config,
                          "initrd " + in.initrd_name + " (" + mib(size)
                              + ") does not fit between the kernel and "
                              + mib(limit) + "; give the VM more memory");
  uint64_t start = (limit - size) & ~(page_size - 1);
  if (auto err = mem.write(start, in.initrd))
    return err;
  return start;
}

caf::expected<std::vector<uint8_t>> make_boot_params(guest_memory& mem,
                                                     const boot_images& in,
                                                     const bz_header& h,
                                                     boot_plan& plan) {
  std::vector<uint8_t> bp(4096, 0);
  std::memcpy(bp.data() + hdr_setup_sects, in.kernel.data() + hdr_setup_sects,
              h.header_end - hdr_setup_sects);
  bp[hdr_type_of_loader] = 0xff;           // No assigned loader ID.
  put(bp, hdr_vid_mode, uint16_t{0xffff}); // "normal"
  if (in.cmdline.size() > h.cmdline_size)
    return bad(in.kernel_name, "command line is "
                                   + std::to_string(in.cmdline.size())
                                   + " bytes, the kernel accepts "
                                   + std::to_string(h.cmdline_size));
  put(bp, hdr_cmd_line_ptr, static_cast<uint32_t>(boot_cmdline_addr));
  if (!in.initrd.empty()) {
    auto start = place_initrd(mem, in, h, plan.kernel_end);
    if (!start)
      return start.error();
    plan.initrd_start = *start;
    plan.initrd_size = in.initrd.size();
    put(bp, hdr_ramdisk_image, static_cast<uint32_t>(*start));
    put(bp, hdr_ramdisk_size, static_cast<uint32_t>(in.initrd.size()));
  }
  put_e820(bp, mem);
  if (in.framebuffer)
    put_screen_info(bp, *in.framebuffer);
  return bp;
}

} // namespace

caf::expected<boot_plan> load_linux(guest_memory& mem, const boot_images& in) {
  auto h = parse_header(in.kernel, in.kernel_name);
  if (!h)
    return h.error();
  boot_plan plan;
  plan.format = kernel_format::linux_bzimage;
  std::span<const uint8_t> pm{in.kernel.data() + h->setup_size,
                              in.kernel.size() - h->setup_size};
  plan.kernel_start = load_address(*h);
  // The decompressor works in place up to init_size past the load address.
  plan.kernel_end =
      plan.kernel_start + std::max<uint64_t>(pm.size(), h->init_size);
  if (!mem.host_ptr(plan.kernel_start, plan.kernel_end - plan.kernel_start))
    return make_vmm_error(vmm_errc::bad_config,
                          "Linux kernel " + in.kernel_name + " needs "
                              + mib(plan.kernel_end)
                              + " of RAM below 4 GiB to decompress; give the "
                                "VM more memory");
  if (auto err = mem.write(plan.kernel_start, pm))
    return err;
  auto bp = make_boot_params(mem, in, *h, plan);
  if (!bp)
    return bp.error();
  std::vector<uint8_t> cmd(in.cmdline.begin(), in.cmdline.end());
  cmd.push_back(0);
  if (auto err = mem.write(boot_cmdline_addr, cmd))
    return err;
  if (auto err = mem.write(boot_params_addr, *bp))
    return err;
  if (auto err = write_boot_gdt(mem, true))
    return err;
  if (auto err = write_identity_page_tables(mem))
    return err;
  plan.bsp = long_mode();
  plan.bsp.regs.rip = plan.kernel_start + 0x200; // startup_64
  plan.bsp.regs.rsi = boot_params_addr;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "Linux kernel %s: boot protocol %u.%02u, loaded at %#llx, "
                "init_size %u, %zu byte initrd, 64-bit entry %#llx",
                in.kernel_name.c_str(), h->version >> 8, h->version & 0xff,
                static_cast<unsigned long long>(plan.kernel_start),
                h->init_size, in.initrd.size(),
                static_cast<unsigned long long>(plan.bsp.regs.rip));
  plan.summary = buf;
  return plan;
}

} // namespace tb::vmm
