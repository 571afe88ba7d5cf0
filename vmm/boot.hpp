// Boot as a choice: how the first vCPU gets going. Direct kernel boot
// (Multiboot v1 ELF, Linux bzImage) exists; firmware (BIOS) boot comes later
// behind the same `boot_source` switch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "vmm/guest_memory.hpp"
#include "vmm/x86_state.hpp"

namespace tb::vmm {

/// The display device's boot frame buffer, for Linux's screen_info.
struct framebuffer_info {
  uint64_t base = 0; ///< Guest-physical address of pixel (0,0).
  uint32_t width = 0, height = 0;
  uint32_t stride = 0; ///< Bytes per scan line.
  uint32_t bpp = 32;   ///< Bits per pixel (XRGB8888).
  uint64_t size = 0;   ///< Bytes of video memory mapped at `base`.
};

/// A kernel given by modifyvm --kernel/--initrd/--cmdline.
struct direct_kernel {
  std::string kernel; ///< Path of the kernel file.
  std::string initrd; ///< Path, or empty.
  std::string cmdline;
};

/// Where the machine boots from. Only direct kernels for now.
struct boot_source {
  enum class kind { direct_kernel, firmware } type = kind::direct_kernel;
  direct_kernel kernel;
};

/// Kernel formats the direct loader recognises.
enum class kernel_format { multiboot, linux_bzimage };

const char* to_string(kernel_format f);

/// What the loader did, for the log and the vCPU.
struct boot_plan {
  kernel_format format = kernel_format::multiboot;
  boot_cpu_state bsp; ///< Entry state of vCPU 0.
  uint64_t kernel_start = 0, kernel_end = 0;
  uint64_t initrd_start = 0, initrd_size = 0;
  std::string summary; ///< One line for VBox.log.
};

/// Identifies a kernel image by content (bzImage "HdrS", Multiboot magic).
caf::expected<kernel_format> detect_kernel(std::span<const uint8_t> image,
                                           const std::string& name);

/// Reads a whole file; errors name the file and what `what` it was.
caf::expected<std::vector<uint8_t>> read_file(const std::string& path,
                                              const char* what);

/// Inputs of a loader, already read from disk.
struct boot_images {
  std::string kernel_name; ///< For messages.
  std::vector<uint8_t> kernel;
  std::string initrd_name;
  std::vector<uint8_t> initrd; ///< Empty when none.
  std::string cmdline;
  std::optional<framebuffer_info> framebuffer;
};

/// Multiboot v1 (ELF32 or a.out kludge) into `mem`.
caf::expected<boot_plan> load_multiboot(guest_memory& mem,
                                        const boot_images& in);

/// Linux x86 boot protocol, 64-bit entry, into `mem`.
caf::expected<boot_plan> load_linux(guest_memory& mem, const boot_images& in);

/// Reads the files of `src` and calls the right loader.
caf::expected<boot_plan>
load_direct_kernel(guest_memory& mem, const direct_kernel& src,
                   const std::optional<framebuffer_info>& fb);

} // namespace tb::vmm
