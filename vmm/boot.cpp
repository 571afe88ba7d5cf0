// Kernel detection and the direct-kernel entry point.
#include "vmm/boot.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "vmm/errors.hpp"

namespace tb::vmm {

const char* to_string(kernel_format f) {
  switch (f) {
  case kernel_format::multiboot:
    return "multiboot";
  case kernel_format::linux_bzimage:
    return "linux";
  }
  return "?";
}

caf::expected<kernel_format> detect_kernel(std::span<const uint8_t> image,
                                           const std::string& name) {
  if (image.size() >= 0x206
      && std::memcmp(image.data() + 0x202, "HdrS", 4) == 0)
    return kernel_format::linux_bzimage;
  auto limit = std::min<size_t>(image.size(), 8192);
  for (size_t off = 0; off + 12 <= limit; off += 4) {
    uint32_t w[3];
    std::memcpy(w, image.data() + off, sizeof w);
    if (w[0] == 0x1BADB002 && static_cast<uint32_t>(w[0] + w[1] + w[2]) == 0)
      return kernel_format::multiboot;
  }
  return make_vmm_error(vmm_errc::bad_image,
                        "kernel " + name
                            + " is neither a Linux bzImage nor a Multiboot "
                              "image");
}

caf::expected<std::vector<uint8_t>> read_file(const std::string& path,
                                              const char* what) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_errno_error(vmm_errc::io_error,
                            std::string{"cannot open "} + what + " " + path,
                            errno);
  std::vector<uint8_t> data{std::istreambuf_iterator<char>{in},
                            std::istreambuf_iterator<char>{}};
  if (in.bad())
    return make_vmm_error(vmm_errc::io_error, std::string{"reading "} + what
                                                  + " " + path + " failed");
  return data;
}

caf::expected<boot_plan>
load_direct_kernel(guest_memory& mem, const direct_kernel& src,
                   const std::optional<framebuffer_info>& fb) {
  boot_images in;
  in.kernel_name = src.kernel;
  auto kernel = read_file(src.kernel, "kernel");
  if (!kernel)
    return kernel.error();
  in.kernel = std::move(*kernel);
  if (!src.initrd.empty()) {
    in.initrd_name = src.initrd;
    auto initrd = read_file(src.initrd, "initrd");
    if (!initrd)
      return initrd.error();
    in.initrd = std::move(*initrd);
  }
  in.cmdline = src.cmdline;
  in.framebuffer = fb;
  auto fmt = detect_kernel(in.kernel, in.kernel_name);
  if (!fmt)
    return fmt.error();
  switch (*fmt) {
  case kernel_format::multiboot:
    return load_multiboot(mem, in);
  case kernel_format::linux_bzimage:
    return load_linux(mem, in);
  }
  return make_vmm_error(vmm_errc::unsupported, "unknown kernel format");
}

} // namespace tb::vmm
