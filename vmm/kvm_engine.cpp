// The KVM implementation of the engine interface (Documentation/virt/kvm/
// api.rst): one fd per VM and per vCPU, kvm_run shared with the kernel.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/engine.hpp"
#include "vmm/errors.hpp"
#include "vmm/host_check.hpp"
#include "vmm/kvm_blob.hpp"
#include "vmm/kvm_state.hpp"

namespace tb::vmm {

namespace {

/// The signal that knocks a vCPU thread out of KVM_RUN. Its handler does
/// nothing: the point is the EINTR, with immediate_exit covering the window
/// just before the thread enters the kernel.
constexpr int kick_signal = SIGUSR1;

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // No SA_RESTART: KVM_RUN must return EINTR.
    sigaction(kick_signal, &sa, nullptr);
  });
}

/// Owns a file descriptor.
class unique_fd {
public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

private:
  int fd_;
};

using kvm_detail::ioctl_error;

class kvm_vcpu final : public engine_vcpu {
public:
  kvm_vcpu(uint32_t index, unique_fd fd, kvm_run* run, size_t run_size,
           std::shared_ptr<const kvm_msr_list_cache> msrs)
      : index_(index), fd_(std::move(fd)), run_(run), run_size_(run_size),
        msrs_(std::move(msrs)) {}

  ~kvm_vcpu() override { munmap(run_, run_size_); }

  uint32_t index() const override { return index_; }

  vcpu_exit run() override {
    vcpu_exit ex;
    if (ioctl(fd_.get(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        ex.kind = exit_kind::interrupted;
        return ex;
      }
      ex.kind = exit_kind::internal_error;
      ex.detail = static_cast<uint64_t>(errno);
      return ex;
    }
    translate(ex);
    return ex;
  }

  void kick() override {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    std::lock_guard<std::mutex> guard{thread_mtx_};
    if (bound_)
      pthread_kill(thread_, kick_signal);
  }

  void clear_kick() override {
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
  }

  caf::error bind_thread() override {
    install_kick_handler();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kick_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::lock_guard<std::mutex> guard{thread_mtx_};
    thread_ = pthread_self();
    bound_ = true;
    return caf::none;
  }

  void unbind_thread() override {
    std::lock_guard<std::mutex> guard{thread_mtx_};
    bound_ = false;
  }

  caf::error set_cpuid(const std::vector<cpuid_entry>& leaves) override {
    return kvm_set_cpuid(fd_.get(), leaves);
  }

  caf::error set_virtual_wire() override {
    return kvm_set_virtual_wire(fd_.get());
  }

  caf::error set_boot_state(const boot_cpu_state& st) override {
    return kvm_set_boot_state(fd_.get(), st);
  }

  caf::expected<x86_regs> regs() override { return kvm_get_regs(fd_.get()); }

  uint32_t tsc_khz() override {
    auto khz = ioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
    return khz > 0 ? static_cast<uint32_t>(khz) : 0;
  }

  caf::expected<vcpu_state> capture() override {
    return kvm_capture(fd_.get(), index_, *msrs_);
  }

  caf::error restore(const vcpu_state& st) override {
    return kvm_restore(fd_.get(), st);
  }

private:
  void translate(vcpu_exit& ex) {
    switch (run_->exit_reason) {
    case KVM_EXIT_IO:
      ex.kind = exit_kind::pio;
      ex.is_write = run_->io.direction == KVM_EXIT_IO_OUT;
      ex.size = run_->io.size;
      ex.count = run_->io.count;
      ex.address = run_->io.port;
      ex.data = reinterpret_cast<uint8_t*>(run_) + run_->io.data_offset;
      return;
    case KVM_EXIT_MMIO:
      ex.kind = exit_kind::mmio;
      ex.is_write = run_->mmio.is_write != 0;
      ex.size = static_cast<uint8_t>(run_->mmio.len);
      ex.address = run_->mmio.phys_addr;
      ex.data = run_->mmio.data;
      return;
    case KVM_EXIT_INTR:
      ex.kind = exit_kind::interrupted;
      return;
    case KVM_EXIT_HLT:
      ex.kind = exit_kind::halt;
      return;
    case KVM_EXIT_SHUTDOWN:
      ex.kind = exit_kind::shutdown;
      return;
    case KVM_EXIT_SYSTEM_EVENT:
      ex.kind = run_->system_event.type == KVM_SYSTEM_EVENT_RESET
                    ? exit_kind::system_reset
                    : exit_kind::system_off;
      ex.detail = run_->system_event.type;
      return;
    case KVM_EXIT_INTERNAL_ERROR:
      ex.kind = exit_kind::internal_error;
      ex.detail = run_->internal.suberror;
      return;
    case KVM_EXIT_FAIL_ENTRY:
      ex.kind = exit_kind::fail_entry;
      ex.detail = run_->fail_entry.hardware_entry_failure_reason;
      return;
    default:
      ex.kind = exit_kind::other;
      ex.detail = run_->exit_reason;
      return;
    }
  }

  uint32_t index_;
  unique_fd fd_;
  kvm_run* run_;
  size_t run_size_;
  std::shared_ptr<const kvm_msr_list_cache> msrs_;
  /// Guards thread_/bound_ so a kick never signals a finished thread.
  std::mutex thread_mtx_;
  pthread_t thread_{};
  bool bound_ = false;
};

class kvm_vm final : public engine_vm {
public:
  kvm_vm(int kvm_fd, unique_fd fd, size_t run_size,
         std::shared_ptr<const kvm_msr_list_cache> msrs)
      : kvm_fd_(kvm_fd), fd_(std::move(fd)), run_size_(run_size),
        msrs_(std::move(msrs)) {}

  caf::error set_memory_slot(uint32_t slot, uint64_t gpa, uint64_t size,
                             void* host, slot_flags flags) override {
    kvm_userspace_memory_region r{};
    r.slot = slot;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = reinterpret_cast<uint64_t>(host);
    auto f = static_cast<uint32_t>(flags);
    if (f & static_cast<uint32_t>(slot_flags::log_dirty))
      r.flags |= KVM_MEM_LOG_DIRTY_PAGES;
    if (f & static_cast<uint32_t>(slot_flags::read_only))
      r.flags |= KVM_MEM_READONLY;
    if (ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &r) < 0)
      return ioctl_error("KVM_SET_USER_MEMORY_REGION");
    return caf::none;
  }

  caf::expected<std::vector<uint64_t>> dirty_log(uint32_t slot,
                                                 uint64_t size) override {
    std::vector<uint64_t> bits((size / 4096 + 63) / 64);
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bits.data();
    if (ioctl(fd_.get(), KVM_GET_DIRTY_LOG, &log) < 0)
      return ioctl_error("KVM_GET_DIRTY_LOG");
    return bits;
  }

  caf::error create_platform() override {
    // Intel's real-mode emulation needs these two areas; harmless on AMD
    // and under PVM. Both sit in the reserved range below 4 GiB.
    if (ioctl(fd_.get(), KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
      return ioctl_error("KVM_SET_TSS_ADDR");
    uint64_t ident = 0xfffbc000;
    if (ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
      return ioctl_error("KVM_SET_IDENTITY_MAP_ADDR");
    if (ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0)
      return ioctl_error("KVM_CREATE_IRQCHIP");
    // The dummy speaker lets PIT channel 2 calibration loops poll port 0x61
    // inside the kernel instead of exiting for every read.
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;
    if (ioctl(fd_.get(), KVM_CREATE_PIT2, &pit) < 0)
      return ioctl_error("KVM_CREATE_PIT2");
    return caf::none;
  }

  caf::error set_irq_line(uint32_t gsi, bool level) override {
    kvm_irq_level irq{};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    if (ioctl(fd_.get(), KVM_IRQ_LINE, &irq) < 0)
      return ioctl_error("KVM_IRQ_LINE");
    return caf::none;
  }

  caf::expected<std::unique_ptr<engine_vcpu>>
  create_vcpu(uint32_t index) override {
    unique_fd fd{ioctl(fd_.get(), KVM_CREATE_VCPU, index)};
    if (fd.get() < 0)
      return ioctl_error("KVM_CREATE_VCPU");
    void* run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd.get(), 0);
    if (run == MAP_FAILED)
      return make_errno_error(vmm_errc::kvm_failed, "mmap of kvm_run", errno);
    return std::unique_ptr<engine_vcpu>{new kvm_vcpu(
        index, std::move(fd), static_cast<kvm_run*>(run), run_size_, msrs_)};
  }

  caf::expected<platform_state> capture_platform() override {
    return kvm_capture_platform(fd_.get());
  }

  caf::error restore_platform(const platform_state& st) override {
    return kvm_restore_platform(fd_.get(), st);
  }

  caf::error add_ioeventfd(uint64_t address, uint32_t len, int fd,
                           bool pio) override {
    return kvm_ioeventfd(fd_.get(), address, len, fd, pio, false);
  }

  caf::error remove_ioeventfd(uint64_t address, uint32_t len, int fd,
                              bool pio) override {
    return kvm_ioeventfd(fd_.get(), address, len, fd, pio, true);
  }

  caf::error add_irqfd(uint32_t gsi, int fd, int resample_fd) override {
    return kvm_irqfd(fd_.get(), gsi, fd, resample_fd, false);
  }

  caf::error remove_irqfd(uint32_t gsi, int fd) override {
    return kvm_irqfd(fd_.get(), gsi, fd, -1, true);
  }

private:
  int kvm_fd_;
  unique_fd fd_;
  size_t run_size_;
  std::shared_ptr<const kvm_msr_list_cache> msrs_;
};

class kvm_engine final : public engine {
public:
  explicit kvm_engine(unique_fd fd) : fd_(std::move(fd)) {}

  caf::error init() {
    info_.name = "kvm";
    info_.api_version = ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
    if (info_.api_version != KVM_API_VERSION)
      return make_vmm_error(
          vmm_errc::kvm_unavailable,
          "/dev/kvm speaks API version " + std::to_string(info_.api_version)
              + ", telebox needs " + std::to_string(KVM_API_VERSION));
    for (auto cap : {KVM_CAP_USER_MEMORY, KVM_CAP_IRQCHIP, KVM_CAP_PIT2,
                     KVM_CAP_EXT_CPUID, KVM_CAP_SET_TSS_ADDR})
      if (ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap) <= 0)
        return make_vmm_error(vmm_errc::kvm_unavailable,
                              "/dev/kvm lacks capability " + std::to_string(cap)
                                  + " (user memory, irqchip, PIT2, CPUID)");
    info_.immediate_exit =
        ioctl(fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
    auto n = ioctl(fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    info_.max_vcpus = n > 0 ? static_cast<uint32_t>(n) : 1;
    info_.pvm = detect_host().pvm || !detect_host().hw_virt;
    run_size_ = ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size_ <= 0)
      return ioctl_error("KVM_GET_VCPU_MMAP_SIZE");
    msrs_ = std::make_shared<kvm_msr_list_cache>(kvm_saved_msrs(fd_.get()));
    return caf::none;
  }

  const engine_info& info() const override { return info_; }

  caf::expected<std::vector<cpuid_entry>> supported_cpuid() override {
    return kvm_supported_cpuid(fd_.get(), KVM_GET_SUPPORTED_CPUID);
  }

  caf::expected<std::vector<cpuid_entry>> supported_hv_cpuid() override {
    if (ioctl(fd_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SYS_HYPERV_CPUID) <= 0)
      return std::vector<cpuid_entry>{};
    return kvm_supported_cpuid(fd_.get(), KVM_GET_SUPPORTED_HV_CPUID);
  }

  caf::expected<std::unique_ptr<engine_vm>> create_vm() override {
    unique_fd vm{ioctl(fd_.get(), KVM_CREATE_VM, 0)};
    if (vm.get() < 0)
      return ioctl_error("KVM_CREATE_VM");
    return std::unique_ptr<engine_vm>{new kvm_vm(
        fd_.get(), std::move(vm), static_cast<size_t>(run_size_), msrs_)};
  }

private:
  unique_fd fd_;
  engine_info info_;
  int run_size_ = 0;
  std::shared_ptr<const kvm_msr_list_cache> msrs_;
};

} // namespace

caf::expected<std::unique_ptr<engine>> open_kvm_engine() {
  unique_fd fd{::open("/dev/kvm", O_RDWR | O_CLOEXEC)};
  if (fd.get() < 0) {
    auto err = errno;
    std::string why = err == ENOENT   ? "no /dev/kvm on this host (KVM is not "
                                        "loaded or not passed into this "
                                        "container)"
                      : err == EACCES ? "no permission to open /dev/kvm "
                                        "(join the kvm group)"
                                      : "cannot open /dev/kvm";
    return make_errno_error(vmm_errc::kvm_unavailable, why, err);
  }
  auto eng = std::make_unique<kvm_engine>(std::move(fd));
  if (auto err = eng->init())
    return err;
  return std::unique_ptr<engine>{std::move(eng)};
}

const char* to_string(exit_kind k) {
  switch (k) {
  case exit_kind::pio:
    return "pio";
  case exit_kind::mmio:
    return "mmio";
  case exit_kind::interrupted:
    return "interrupted";
  case exit_kind::halt:
    return "halt";
  case exit_kind::shutdown:
    return "shutdown";
  case exit_kind::system_reset:
    return "system_reset";
  case exit_kind::system_off:
    return "system_off";
  case exit_kind::internal_error:
    return "internal_error";
  case exit_kind::fail_entry:
    return "fail_entry";
  case exit_kind::other:
    return "other";
  }
  return "?";
}

} // namespace tb::vmm
