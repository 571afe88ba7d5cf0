// Boot loaders against the boot protocols: a synthetic Multiboot ELF32, a
// synthetic bzImage header, and (when TB_TEST_BZIMAGE names one, e.g. a
// Debian vmlinuz extracted with dpkg-deb) a real kernel's boot_params.
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "vmm/boot.hpp"
#include "vmm/x86_setup.hpp"

using namespace tb::vmm;

namespace {

template <class T> void put(std::vector<uint8_t>& b, size_t off, T v) {
  if (b.size() < off + sizeof v)
    b.resize(off + sizeof v);
  std::memcpy(b.data() + off, &v, sizeof v);
}

template <class T> T get(const guest_memory& m, uint64_t gpa) {
  T v{};
  EXPECT_FALSE(m.read(gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v}));
  return v;
}

/// ELF32 i386 with one PT_LOAD at 1 MiB: header, code bytes, then bss.
std::vector<uint8_t> multiboot_elf(uint32_t mb_flags = 3) {
  std::vector<uint8_t> f(0x1000, 0);
  std::memcpy(f.data(),
              "\x7f"
              "ELF\x01\x01\x01",
              7);
  put<uint16_t>(f, 16, 2);        // ET_EXEC
  put<uint16_t>(f, 18, 3);        // EM_386
  put<uint32_t>(f, 24, 0x100010); // e_entry
  put<uint32_t>(f, 28, 52);       // e_phoff
  put<uint16_t>(f, 42, 32);       // e_phentsize
  put<uint16_t>(f, 44, 1);        // e_phnum
  put<uint32_t>(f, 52, 1);        // PT_LOAD
  put<uint32_t>(f, 56, 0x1000);   // p_offset
  put<uint32_t>(f, 64, 0x100000); // p_paddr
  put<uint32_t>(f, 68, 0x20);     // p_filesz
  put<uint32_t>(f, 72, 0x2000);   // p_memsz (bss follows)
  f.resize(0x1020, 0xcc);
  put<uint32_t>(f, 0x1000, 0x1BADB002);
  put<uint32_t>(f, 0x1004, mb_flags);
  put<uint32_t>(f, 0x1008, uint32_t(-(0x1BADB002 + mb_flags)));
  return f;
}

std::unique_ptr<guest_memory> memory(uint64_t mb) {
  auto m = guest_memory::create(mb << 20, false);
  EXPECT_TRUE(m);
  return std::move(*m);
}

} // namespace

TEST(multiboot, loads_segments_and_fills_the_info_structure) {
  auto mem = memory(64);
  boot_images in{"mb.elf", multiboot_elf(), "", {}, "telebox.ticker=10", {}};
  ASSERT_FALSE(mem->fill_zero(0x100020, 0x100)); // bss must come back zero
  auto plan = load_multiboot(*mem, in);
  ASSERT_TRUE(plan) << tb::error_text(plan.error());
  EXPECT_EQ(plan->bsp.regs.rax, 0x2BADB002u);
  EXPECT_EQ(plan->bsp.regs.rip, 0x100010u);
  EXPECT_EQ(plan->kernel_end, 0x102000u);
  auto mbi = plan->bsp.regs.rbx;
  auto flags = get<uint32_t>(*mem, mbi);
  EXPECT_TRUE(flags & 1);  // mem_lower/upper
  EXPECT_TRUE(flags & 4);  // cmdline
  EXPECT_TRUE(flags & 64); // mmap
  EXPECT_EQ(get<uint32_t>(*mem, mbi + 8), (64u << 10) - 1024); // mem_upper
  auto cmd = get<uint32_t>(*mem, mbi + 16);
  char text[18] = {};
  ASSERT_FALSE(mem->read(cmd, {reinterpret_cast<uint8_t*>(text), 17}));
  EXPECT_STREQ(text, "telebox.ticker=10");
  EXPECT_EQ(get<uint32_t>(*mem, 0x100000), 0x1BADB002u);
  EXPECT_EQ(get<uint32_t>(*mem, 0x101000), 0u);
  // Flat 32-bit protected mode, paging off.
  EXPECT_EQ(plan->bsp.sregs.cr0 & 0x80000001u, 1u);
  EXPECT_EQ(plan->bsp.sregs.cs.db, 1);
}

TEST(multiboot, initrd_becomes_module_zero) {
  auto mem = memory(64);
  boot_images in{"mb.elf",     multiboot_elf(),
                 "initrd.img", std::vector<uint8_t>(5000, 0x77),
                 "",           {}};
  auto plan = load_multiboot(*mem, in);
  ASSERT_TRUE(plan);
  auto mbi = plan->bsp.regs.rbx;
  EXPECT_TRUE(get<uint32_t>(*mem, mbi) & 8);
  EXPECT_EQ(get<uint32_t>(*mem, mbi + 20), 1u); // mods_count
  auto mods = get<uint32_t>(*mem, mbi + 24);
  auto start = get<uint32_t>(*mem, mods);
  EXPECT_EQ(start % 4096, 0u);
  EXPECT_EQ(get<uint32_t>(*mem, mods + 4) - start, 5000u);
  EXPECT_EQ(get<uint8_t>(*mem, start + 4999), 0x77);
}

TEST(multiboot, video_mode_request_is_refused) {
  auto mem = memory(16);
  boot_images in{"mb.elf", multiboot_elf(3 | 4), "", {}, "", {}};
  auto plan = load_multiboot(*mem, in);
  ASSERT_FALSE(plan);
  EXPECT_NE(tb::error_text(plan.error()).find("video mode"), std::string::npos);
}

TEST(multiboot, segment_outside_ram_is_refused) {
  auto mem = memory(1 + 1); // 2 MiB: the 1 MiB + 8 KiB image fits...
  auto elf = multiboot_elf();
  put<uint32_t>(elf, 72, 0x200000); // ...but a 2 MiB bss does not.
  boot_images in{"mb.elf", elf, "", {}, "", {}};
  auto plan = load_multiboot(*mem, in);
  ASSERT_FALSE(plan);
  EXPECT_NE(tb::error_text(plan.error()).find("does not fit in guest RAM"),
            std::string::npos);
}

TEST(kernel_detection, garbage_is_neither_format) {
  std::vector<uint8_t> junk(9000, 0x90);
  auto f = detect_kernel(junk, "junk.bin");
  ASSERT_FALSE(f);
  EXPECT_EQ(tb::error_text(f.error()),
            "kernel junk.bin is neither a Linux bzImage nor a Multiboot "
            "image");
}

namespace {

/// A minimal bzImage: 4 setup sectors + header + a 64 KiB payload.
std::vector<uint8_t> tiny_bzimage(uint16_t version = 0x020f) {
  std::vector<uint8_t> f(5 * 512 + 0x10000, 0);
  f[0x1f1] = 4;    // setup_sects
  f[0x201] = 0x66; // header ends at 0x268
  std::memcpy(f.data() + 0x202, "HdrS", 4);
  put<uint16_t>(f, 0x206, version);
  f[0x211] = 0x01;                     // LOADED_HIGH
  put<uint32_t>(f, 0x22c, 0x7fffffff); // initrd_addr_max
  put<uint32_t>(f, 0x230, 0x200000);   // kernel_alignment
  f[0x234] = 1;                        // relocatable
  put<uint16_t>(f, 0x236, 0x0001);     // XLF_KERNEL_64
  put<uint32_t>(f, 0x238, 2047);       // cmdline_size
  put<uint64_t>(f, 0x258, 0x1000000);  // pref_address
  put<uint32_t>(f, 0x260, 0x400000);   // init_size
  f[5 * 512] = 0xe9;                   // first payload byte
  return f;
}

} // namespace

TEST(linux_boot, zero_page_carries_header_cmdline_e820_and_initrd) {
  auto mem = memory(128);
  boot_images in{"bz",
                 tiny_bzimage(),
                 "rd",
                 std::vector<uint8_t>(8192, 1),
                 "console=ttyS0",
                 {}};
  auto plan = load_linux(*mem, in);
  ASSERT_TRUE(plan) << tb::error_text(plan.error());
  EXPECT_EQ(plan->kernel_start, 0x200000u); // 1 MiB rounded to 2 MiB.
  EXPECT_EQ(plan->bsp.regs.rip, 0x200200u);
  EXPECT_EQ(plan->bsp.regs.rsi, boot_params_addr);
  EXPECT_EQ(get<uint8_t>(*mem, 0x200000), 0xe9);
  auto bp = boot_params_addr;
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x202), 0x53726448u); // "HdrS"
  EXPECT_EQ(get<uint8_t>(*mem, bp + 0x210), 0xff);         // type_of_loader
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x228), boot_cmdline_addr);
  auto rd = get<uint32_t>(*mem, bp + 0x218);
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x21c), 8192u);
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_EQ(rd + 8192u, 128u << 20);             // As high as RAM allows.
  EXPECT_EQ(get<uint8_t>(*mem, bp + 0x1e8), 5u); // e820 entries
  EXPECT_EQ(get<uint64_t>(*mem, bp + 0x2d0 + 3 * 20), 0x100000u);
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x2d0 + 3 * 20 + 16), 1u); // RAM
  // Long mode with the identity map.
  EXPECT_EQ(plan->bsp.sregs.efer & 0x500, 0x500u);
  EXPECT_EQ(plan->bsp.sregs.cs.l, 1);
  EXPECT_EQ(get<uint64_t>(*mem, boot_pml4_addr) & ~0xfffULL,
            boot_pml4_addr + 0x1000);
}

TEST(linux_boot, screen_info_points_at_the_frame_buffer) {
  auto mem = memory(128);
  framebuffer_info fb{0xe0000000, 1024, 768, 4096, 32, 16 << 20};
  boot_images in{"bz", tiny_bzimage(), "", {}, "", fb};
  ASSERT_TRUE(load_linux(*mem, in));
  auto bp = boot_params_addr;
  EXPECT_EQ(get<uint8_t>(*mem, bp + 0x0f), 0x23); // VIDEO_TYPE_VLFB
  EXPECT_EQ(get<uint16_t>(*mem, bp + 0x12), 1024);
  EXPECT_EQ(get<uint16_t>(*mem, bp + 0x14), 768);
  EXPECT_EQ(get<uint16_t>(*mem, bp + 0x16), 32);
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x18), 0xe0000000u);
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x1c), 256u); // 16 MiB in 64 KiB units
  EXPECT_EQ(get<uint16_t>(*mem, bp + 0x24), 4096);
  EXPECT_EQ(get<uint8_t>(*mem, bp + 0x27), 16); // red_pos
}

TEST(linux_boot, old_protocol_without_64bit_entry_is_refused) {
  auto mem = memory(64);
  boot_images in{"old", tiny_bzimage(0x020a), "", {}, "", {}};
  auto plan = load_linux(*mem, in);
  ASSERT_FALSE(plan);
  EXPECT_NE(tb::error_text(plan.error()).find("older than 2.12"),
            std::string::npos);
}

TEST(linux_boot, too_little_ram_for_init_size_is_a_clear_error) {
  auto mem = memory(4);
  boot_images in{"bz", tiny_bzimage(), "", {}, "", {}};
  auto plan = load_linux(*mem, in);
  ASSERT_FALSE(plan);
  EXPECT_NE(tb::error_text(plan.error()).find("give the VM more memory"),
            std::string::npos);
}

TEST(linux_boot, real_debian_bzimage_header_is_parsed) {
  const char* path = std::getenv("TB_TEST_BZIMAGE");
  if (!path)
    GTEST_SKIP() << "set TB_TEST_BZIMAGE to a vmlinuz (dpkg-deb -x of "
                    "linux-image-6.1.0-*-amd64)";
  auto img = read_file(path, "kernel");
  ASSERT_TRUE(img);
  auto mem = memory(512);
  boot_images in{path, *img, "", {}, "console=ttyS0 nokaslr", {}};
  auto plan = load_linux(*mem, in);
  ASSERT_TRUE(plan) << tb::error_text(plan.error());
  auto bp = boot_params_addr;
  EXPECT_GE(get<uint16_t>(*mem, bp + 0x206), 0x020f); // protocol >= 2.15
  EXPECT_EQ(get<uint32_t>(*mem, bp + 0x230), 0x200000u);
  EXPECT_EQ(plan->kernel_start, 0x200000u);
  // init_size (~64 MiB for Debian) bounds what the decompressor touches.
  EXPECT_GT(plan->kernel_end - plan->kernel_start, 60u << 20);
  auto setup = (size_t{(*img)[0x1f1]} + 1) * 512;
  EXPECT_EQ(std::memcmp(mem->host_ptr(0x200000, 64), img->data() + setup, 64),
            0);
}
