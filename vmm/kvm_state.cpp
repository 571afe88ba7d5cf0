// KVM vCPU state: CPUID tables, boot registers, and the complete state a
// pause/teleport needs (kvm-vmm.md C.4 for the component list and order).
#include "vmm/kvm_state.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "vmm/errors.hpp"
#include "vmm/kvm_blob.hpp"

namespace tb::vmm {

namespace {

using kvm_detail::from_blob;
using kvm_detail::ioctl_error;
using kvm_detail::to_blob;

// <linux/kvm.h> declares its flexible arrays with __DECLARE_FLEX_ARRAY,
// which in C++ adds an empty struct: kvm_cpuid2 grows from 8 to 12 bytes,
// kvm_xsave from 4096 to 4100, and the ioctl numbers (which encode the
// size) stop matching the kernel's. These are the C layouts and numbers.
struct cpuid2_head {
  uint32_t nent;
  uint32_t padding;
};
struct msr_list_head {
  uint32_t nmsrs;
};
struct msrs_head {
  uint32_t nmsrs;
  uint32_t pad;
};
struct xsave_c {
  uint32_t region[1024];
};
constexpr unsigned long ioc_get_supported_cpuid =
    _IOWR(KVMIO, 0x05, cpuid2_head);
constexpr unsigned long ioc_get_supported_hv_cpuid =
    _IOWR(KVMIO, 0xc1, cpuid2_head);
constexpr unsigned long ioc_set_cpuid2 = _IOW(KVMIO, 0x90, cpuid2_head);
constexpr unsigned long ioc_get_msr_index_list =
    _IOWR(KVMIO, 0x02, msr_list_head);
constexpr unsigned long ioc_get_msrs = _IOWR(KVMIO, 0x88, msrs_head);
constexpr unsigned long ioc_set_msrs = _IOW(KVMIO, 0x89, msrs_head);
constexpr unsigned long ioc_get_xsave = _IOR(KVMIO, 0xa4, xsave_c);
constexpr unsigned long ioc_set_xsave = _IOW(KVMIO, 0xa5, xsave_c);

/// A C-layout buffer: a header followed by `n` entries of E.
template <class Head, class E> struct c_array {
  std::vector<uint8_t> buf;
  explicit c_array(size_t n) : buf(sizeof(Head) + n * sizeof(E)) {}
  Head* head() { return reinterpret_cast<Head*>(buf.data()); }
  E* entries() { return reinterpret_cast<E*>(buf.data() + sizeof(Head)); }
};

/// MSRs to keep across save/restore when the host's KVM lists them.
constexpr uint32_t wanted_msrs[] = {
    0x10,       0x3b,       0x48,       0x174,      0x175,      0x176,
    0x1a0,      0x277,      0x2ff,      0x6e0,      0x11,       0x12,
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102, 0xc0000103,
    0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x4b564d05,
    0x4b564d06, 0x4b564d07, 0x250,      0x258,      0x259,      0x268,
    0x269,      0x26a,      0x26b,      0x26c,      0x26d,      0x26e,
    0x26f,      0x200,      0x201,      0x202,      0x203,      0x204,
    0x205,      0x206,      0x207,      0x208,      0x209,      0x20a,
    0x20b,      0x20c,      0x20d,      0x20e,      0x20f,
};

kvm_segment to_kvm(const x86_segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  return k;
}

using msr_buffer = c_array<msrs_head, kvm_msr_entry>;

msr_buffer make_msrs(size_t n) {
  msr_buffer b{n};
  b.head()->nmsrs = static_cast<uint32_t>(n);
  return b;
}

caf::error capture_msrs(int fd, const kvm_msr_list_cache& list,
                        vcpu_state& st) {
  // KVM_GET_MSRS stops at the first MSR it cannot read; drop that one and
  // retry, so one odd MSR never loses the others.
  std::vector<uint32_t> idx = list.indices;
  while (!idx.empty()) {
    auto buf = make_msrs(idx.size());
    for (size_t i = 0; i < idx.size(); ++i)
      buf.entries()[i].index = idx[i];
    auto n = ioctl(fd, ioc_get_msrs, buf.buf.data());
    if (n < 0)
      return ioctl_error("KVM_GET_MSRS");
    if (static_cast<size_t>(n) == idx.size()) {
      for (size_t i = 0; i < idx.size(); ++i)
        st.msrs.push_back({buf.entries()[i].index, buf.entries()[i].data});
      return caf::none;
    }
    idx.erase(idx.begin() + n);
  }
  return caf::none;
}

caf::error restore_msrs(int fd, const std::vector<msr_value>& msrs) {
  if (msrs.empty())
    return caf::none;
  auto buf = make_msrs(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    buf.entries()[i].index = msrs[i].index;
    buf.entries()[i].data = msrs[i].value;
  }
  auto n = ioctl(fd, ioc_set_msrs, buf.buf.data());
  if (n < 0)
    return ioctl_error("KVM_SET_MSRS");
  if (static_cast<size_t>(n) != msrs.size())
    return make_vmm_error(vmm_errc::kvm_failed,
                          "KVM_SET_MSRS refused MSR "
                              + std::to_string(msrs[n].index));
  return caf::none;
}

/// GET/SET pairs of fixed-size components, in restore order.
template <class T>
caf::error get_blob(int fd, unsigned long req, const char* name,
                    std::vector<uint8_t>& out) {
  T x{};
  if (ioctl(fd, req, &x) < 0)
    return ioctl_error(name);
  out = to_blob(x);
  return caf::none;
}

template <class T>
caf::error set_blob(int fd, unsigned long req, const char* name,
                    const std::vector<uint8_t>& in) {
  T x{};
  if (!from_blob(in, x))
    return make_vmm_error(vmm_errc::bad_state, std::string{"saved vCPU state: "}
                                                   + name
                                                   + " has the wrong size");
  if (ioctl(fd, req, &x) < 0)
    return ioctl_error(name);
  return caf::none;
}

} // namespace

kvm_msr_list_cache kvm_saved_msrs(int kvm_fd) {
  kvm_msr_list_cache out;
  msr_list_head probe{0};
  ioctl(kvm_fd, ioc_get_msr_index_list, &probe); // E2BIG, sets nmsrs.
  c_array<msr_list_head, uint32_t> list{probe.nmsrs};
  list.head()->nmsrs = probe.nmsrs;
  if (ioctl(kvm_fd, ioc_get_msr_index_list, list.buf.data()) < 0)
    return out;
  auto* first = list.entries();
  auto* last = first + list.head()->nmsrs;
  for (auto want : wanted_msrs)
    if (std::find(first, last, want) != last)
      out.indices.push_back(want);
  return out;
}

caf::expected<std::vector<cpuid_entry>> kvm_supported_cpuid(int kvm_fd,
                                                            unsigned long req) {
  bool hv = req == KVM_GET_SUPPORTED_HV_CPUID;
  auto ioc = hv ? ioc_get_supported_hv_cpuid : ioc_get_supported_cpuid;
  for (uint32_t n = 128; n <= 4096; n *= 2) {
    c_array<cpuid2_head, kvm_cpuid_entry2> c{n};
    c.head()->nent = n;
    if (ioctl(kvm_fd, ioc, c.buf.data()) < 0) {
      if (errno == E2BIG)
        continue;
      return ioctl_error(hv ? "KVM_GET_SUPPORTED_HV_CPUID"
                            : "KVM_GET_SUPPORTED_CPUID");
    }
    std::vector<cpuid_entry> out;
    for (uint32_t i = 0; i < c.head()->nent; ++i) {
      const auto& e = c.entries()[i];
      out.push_back({e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx});
    }
    return out;
  }
  return make_vmm_error(vmm_errc::kvm_failed,
                        "KVM_GET_SUPPORTED_CPUID: table too large");
}

caf::error kvm_set_cpuid(int vcpu_fd, const std::vector<cpuid_entry>& leaves) {
  c_array<cpuid2_head, kvm_cpuid_entry2> c{leaves.size()};
  c.head()->nent = static_cast<uint32_t>(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto& e = c.entries()[i];
    const auto& l = leaves[i];
    e.function = l.function;
    e.index = l.index;
    e.flags = l.flags;
    e.eax = l.eax;
    e.ebx = l.ebx;
    e.ecx = l.ecx;
    e.edx = l.edx;
  }
  if (ioctl(vcpu_fd, ioc_set_cpuid2, c.buf.data()) < 0)
    return ioctl_error("KVM_SET_CPUID2");
  return caf::none;
}

caf::error kvm_set_virtual_wire(int vcpu_fd) {
  constexpr size_t lvt_lint0 = 0x350, lvt_lint1 = 0x360;
  constexpr uint32_t mode_extint = 0x700, mode_nmi = 0x400;
  kvm_lapic_state lapic{};
  if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
    return ioctl_error("KVM_GET_LAPIC");
  std::memcpy(lapic.regs + lvt_lint0, &mode_extint, 4);
  std::memcpy(lapic.regs + lvt_lint1, &mode_nmi, 4);
  if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
    return ioctl_error("KVM_SET_LAPIC");
  return caf::none;
}

caf::error kvm_set_boot_state(int vcpu_fd, const boot_cpu_state& st) {
  kvm_sregs s{};
  if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
    return ioctl_error("KVM_GET_SREGS");
  const auto& b = st.sregs;
  s.cs = to_kvm(b.cs);
  s.ds = to_kvm(b.ds);
  s.es = to_kvm(b.es);
  s.fs = to_kvm(b.fs);
  s.gs = to_kvm(b.gs);
  s.ss = to_kvm(b.ss);
  s.tr = to_kvm(b.tr);
  s.ldt = to_kvm(b.ldt);
  s.gdt.base = b.gdt.base;
  s.gdt.limit = b.gdt.limit;
  s.idt.base = b.idt.base;
  s.idt.limit = b.idt.limit;
  s.cr0 = b.cr0;
  s.cr3 = b.cr3;
  s.cr4 = b.cr4;
  s.efer = b.efer;
  if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0)
    return ioctl_error("KVM_SET_SREGS");
  const auto& r = st.regs;
  kvm_regs k{};
  k.rax = r.rax, k.rbx = r.rbx, k.rcx = r.rcx, k.rdx = r.rdx;
  k.rsi = r.rsi, k.rdi = r.rdi, k.rsp = r.rsp, k.rbp = r.rbp;
  k.r8 = r.r8, k.r9 = r.r9, k.r10 = r.r10, k.r11 = r.r11;
  k.r12 = r.r12, k.r13 = r.r13, k.r14 = r.r14, k.r15 = r.r15;
  k.rip = r.rip;
  k.rflags = r.rflags;
  if (ioctl(vcpu_fd, KVM_SET_REGS, &k) < 0)
    return ioctl_error("KVM_SET_REGS");
  // The x87 and SSE control words a CPU has after reset/FNINIT.
  kvm_fpu fpu{};
  fpu.fcw = 0x37f;
  fpu.mxcsr = 0x1f80;
  if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
    return ioctl_error("KVM_SET_FPU");
  return caf::none;
}

caf::expected<x86_regs> kvm_get_regs(int vcpu_fd) {
  kvm_regs k{};
  if (ioctl(vcpu_fd, KVM_GET_REGS, &k) < 0)
    return ioctl_error("KVM_GET_REGS");
  x86_regs r;
  r.rax = k.rax, r.rbx = k.rbx, r.rcx = k.rcx, r.rdx = k.rdx;
  r.rsi = k.rsi, r.rdi = k.rdi, r.rsp = k.rsp, r.rbp = k.rbp;
  r.r8 = k.r8, r.r9 = k.r9, r.r10 = k.r10, r.r11 = k.r11;
  r.r12 = k.r12, r.r13 = k.r13, r.r14 = k.r14, r.r15 = k.r15;
  r.rip = k.rip;
  r.rflags = k.rflags;
  return r;
}

caf::expected<vcpu_state> kvm_capture(int fd, uint32_t index,
                                      const kvm_msr_list_cache& msrs) {
  vcpu_state st;
  st.engine = kvm_state_format;
  st.index = index;
  // MP_STATE first (it can flush pending APIC events), VCPU_EVENTS last.
  caf::error err;
  if ((err = get_blob<kvm_mp_state>(fd, KVM_GET_MP_STATE, "KVM_GET_MP_STATE",
                                    st.mp_state))
      || (err = get_blob<kvm_regs>(fd, KVM_GET_REGS, "KVM_GET_REGS", st.regs))
      || (err =
              get_blob<kvm_sregs>(fd, KVM_GET_SREGS, "KVM_GET_SREGS", st.sregs))
      || (err = get_blob<xsave_c>(fd, ioc_get_xsave, "KVM_GET_XSAVE", st.xsave))
      || (err = get_blob<kvm_xcrs>(fd, KVM_GET_XCRS, "KVM_GET_XCRS", st.xcrs))
      || (err = get_blob<kvm_lapic_state>(fd, KVM_GET_LAPIC, "KVM_GET_LAPIC",
                                          st.lapic))
      || (err = get_blob<kvm_debugregs>(fd, KVM_GET_DEBUGREGS,
                                        "KVM_GET_DEBUGREGS", st.debugregs))
      || (err = capture_msrs(fd, msrs, st))
      || (err = get_blob<kvm_vcpu_events>(fd, KVM_GET_VCPU_EVENTS,
                                          "KVM_GET_VCPU_EVENTS", st.events)))
    return err;
  int khz = ioctl(fd, KVM_GET_TSC_KHZ);
  st.tsc_khz = khz > 0 ? static_cast<uint32_t>(khz) : 0;
  return st;
}

namespace {

// The guest must see its TSC tick at the rate it was saved at (the clock
// and every TSC deadline depend on it). Another host calibrates its own
// rate; KVM_SET_TSC_KHZ makes the vCPU run at the saved one, which KVM
// does by scaling (VMX/SVM TSC scaling) or, within 250 ppm, as is.
caf::error match_tsc_rate(int fd, uint32_t saved_khz) {
  if (saved_khz == 0)
    return caf::none; // Saved by an engine that could not tell.
  int here = ioctl(fd, KVM_GET_TSC_KHZ);
  if (here <= 0 || static_cast<uint32_t>(here) == saved_khz)
    return caf::none;
  if (ioctl(fd, KVM_SET_TSC_KHZ, static_cast<unsigned long>(saved_khz)) == 0)
    return caf::none;
  int e = errno;
  return make_vmm_error(
      vmm_errc::bad_state,
      "TSC: the saved vCPU ran at " + std::to_string(saved_khz)
          + " kHz, this host's at " + std::to_string(here)
          + " kHz, and KVM here cannot scale the TSC (KVM_SET_TSC_KHZ: "
          + std::strerror(e) + ")");
}

} // namespace

caf::error kvm_restore(int fd, const vcpu_state& st) {
  if (st.engine != kvm_state_format)
    return make_vmm_error(vmm_errc::bad_state, "saved vCPU state is in format '"
                                                   + st.engine
                                                   + "', this engine reads '"
                                                   + kvm_state_format + "'");
  // Order per Firecracker's documented constraints: SREGS before LAPIC
  // (APIC base), LAPIC before MSRs (TSC deadline), events last.
  kvm_vcpu_events ev{};
  if (!from_blob(st.events, ev))
    return make_vmm_error(vmm_errc::bad_state,
                          "saved vCPU state: events have the wrong size");
  ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  caf::error err;
  if ((err = set_blob<kvm_sregs>(fd, KVM_SET_SREGS, "KVM_SET_SREGS", st.sregs))
      || (err = set_blob<kvm_regs>(fd, KVM_SET_REGS, "KVM_SET_REGS", st.regs))
      || (err = set_blob<xsave_c>(fd, ioc_set_xsave, "KVM_SET_XSAVE", st.xsave))
      || (err = set_blob<kvm_xcrs>(fd, KVM_SET_XCRS, "KVM_SET_XCRS", st.xcrs))
      || (err = set_blob<kvm_lapic_state>(fd, KVM_SET_LAPIC, "KVM_SET_LAPIC",
                                          st.lapic))
      || (err = match_tsc_rate(fd, st.tsc_khz))
      || (err = restore_msrs(fd, st.msrs))
      || (err = set_blob<kvm_mp_state>(fd, KVM_SET_MP_STATE, "KVM_SET_MP_STATE",
                                       st.mp_state))
      || (err = set_blob<kvm_debugregs>(fd, KVM_SET_DEBUGREGS,
                                        "KVM_SET_DEBUGREGS", st.debugregs)))
    return err;
  if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
    return ioctl_error("KVM_SET_VCPU_EVENTS");
  return caf::none;
}

} // namespace tb::vmm
