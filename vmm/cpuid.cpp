// CPUID filtering (Intel SDM vol. 2 "CPUID"; AMD APM vol. 3 appendix E;
// kvm-vmm.md C.2 for the hypervisor leaves).
#include "vmm/cpuid.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "vmm/errors.hpp"

namespace tb::vmm {

namespace {

constexpr uint32_t hv_base = 0x40000000;
constexpr uint32_t hv_end = 0x50000000;
constexpr uint32_t significant_index = 1; // KVM_CPUID_FLAG_SIGNIFCANT_INDEX

// Feature bits touched below.
constexpr uint32_t leaf1_ecx_vmx = 1u << 5;
constexpr uint32_t leaf1_ecx_hypervisor = 1u << 31;
constexpr uint32_t leaf1_edx_pae = 1u << 6;
constexpr uint32_t leaf1_edx_htt = 1u << 28;
constexpr uint32_t ext1_ecx_svm = 1u << 2;
constexpr uint32_t ext1_edx_lm = 1u << 29;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_hv_leaf(uint32_t f) {
  return f >= hv_base && f < hv_end;
}

cpuid_entry* find_mut(std::vector<cpuid_entry>& t, uint32_t f, uint32_t i) {
  for (auto& e : t)
    if (e.function == f && (e.index == i || !(e.flags & significant_index)))
      return &e;
  return nullptr;
}

void put_signature(cpuid_entry& e, const char (&sig)[13]) {
  std::memcpy(&e.ebx, sig, 4);
  std::memcpy(&e.ecx, sig + 4, 4);
  std::memcpy(&e.edx, sig + 8, 4);
}

uint32_t bits_for(uint32_t n) {
  uint32_t b = 0;
  while ((1u << b) < n)
    ++b;
  return b;
}

/// APIC IDs and package topology: `cpus` cores of one thread each.
void set_topology(std::vector<cpuid_entry>& t, uint32_t cpus, uint32_t idx) {
  if (auto* e = find_mut(t, 1, 0)) {
    e->ebx = (e->ebx & 0x0000ffff) | (std::min(cpus, 255u) << 16) | (idx << 24);
    if (cpus > 1)
      e->edx |= leaf1_edx_htt;
    else
      e->edx &= ~leaf1_edx_htt;
  }
  for (uint32_t leaf : {0xbu, 0x1fu})
    for (auto& e : t) {
      if (e.function != leaf)
        continue;
      e.edx = idx;
      if (e.index == 0) { // SMT level: one thread per core.
        e.eax = 0, e.ebx = 1, e.ecx = (1u << 8) | 0;
      } else if (e.index == 1) { // Core level: all vCPUs.
        e.eax = bits_for(cpus), e.ebx = cpus, e.ecx = (2u << 8) | 1;
      } else {
        e.eax = 0, e.ebx = 0, e.ecx = e.index;
      }
    }
  for (auto& e : t)
    if (e.function == 4 && (e.eax & 0x1f) != 0)
      e.eax = (e.eax & 0x03ffffff) | ((cpus - 1) << 26);
  if (auto* e = find_mut(t, 0x80000008, 0))
    e->ecx = (e->ecx & ~0xf0ffu) | (bits_for(cpus) << 12) | (cpus - 1);
}

void apply_features(std::vector<cpuid_entry>& t, const cpuid_options& o) {
  if (auto* e = find_mut(t, 1, 0)) {
    // No nested virtualization: hide VMX so no guest tries it.
    e->ecx = (e->ecx & ~leaf1_ecx_vmx) | leaf1_ecx_hypervisor;
    if (!o.pae)
      e->edx &= ~leaf1_edx_pae;
  }
  if (auto* e = find_mut(t, 0x80000001, 0)) {
    e->ecx &= ~ext1_ecx_svm;
    if (!o.long_mode)
      e->edx &= ~ext1_edx_lm;
  }
}

/// KVM's own leaves from `supported`, rebased to `base`.
std::vector<cpuid_entry> kvm_leaves(const std::vector<cpuid_entry>& supported,
                                    uint32_t base) {
  std::vector<cpuid_entry> out;
  for (auto& e : supported)
    if (e.function == hv_base || e.function == hv_base + 1) {
      auto c = e;
      c.function = base + (e.function - hv_base);
      out.push_back(c);
    }
  if (out.empty()) { // An engine without KVM leaves: make the signature.
    cpuid_entry sig{base, 0, 0, base + 1, 0, 0, 0};
    put_signature(sig, "KVMKVMKVM\0\0\0");
    out.push_back(sig);
    out.push_back(cpuid_entry{base + 1, 0, 0, 0, 0, 0, 0});
  }
  out.front().eax = base + 1;
  return out;
}

caf::expected<std::vector<cpuid_entry>>
hypervisor_leaves(const std::vector<cpuid_entry>& supported,
                  const std::vector<cpuid_entry>& hv_supported,
                  const cpuid_options& o) {
  switch (o.paravirt) {
  case paravirt_provider::none:
  case paravirt_provider::legacy:
    return std::vector<cpuid_entry>{};
  case paravirt_provider::kvm:
    return kvm_leaves(supported, hv_base);
  case paravirt_provider::minimal: {
    // VirtualBox's Minimal interface: a signature plus the timing leaf
    // (TSC and local APIC timer frequencies in kHz) macOS guests need.
    cpuid_entry sig{hv_base, 0, 0, hv_base + 0x10, 0, 0, 0};
    put_signature(sig, "VBoxVBoxVBox");
    cpuid_entry timing{hv_base + 0x10, 0, 0, o.tsc_khz, 1000000, 0, 0};
    return std::vector<cpuid_entry>{sig, timing};
  }
  case paravirt_provider::hyperv: {
    std::vector<cpuid_entry> out;
    for (auto& e : hv_supported)
      if (is_hv_leaf(e.function) && e.function < hv_base + 0x100)
        out.push_back(e);
    if (out.empty())
      return make_vmm_error(vmm_errc::unsupported,
                            "paravirtualization provider HyperV: this "
                            "host's KVM offers no Hyper-V enlightenments");
    // Hyper-V at the base, KVM's leaves moved up where Linux and SeaBIOS
    // still find them (they scan in 0x100 steps).
    auto kvm = kvm_leaves(supported, hv_base + 0x100);
    out.insert(out.end(), kvm.begin(), kvm.end());
    return out;
  }
  }
  return std::vector<cpuid_entry>{};
}

void apply_overrides(std::vector<cpuid_entry>& t, const cpuid_options& o) {
  for (auto& ov : o.overrides) {
    auto* e = find_mut(t, ov.leaf, ov.subleaf);
    if (!e) {
      t.push_back(cpuid_entry{ov.leaf, ov.subleaf,
                              ov.subleaf ? significant_index : 0u});
      e = &t.back();
    }
    e->eax = ov.eax, e->ebx = ov.ebx, e->ecx = ov.ecx, e->edx = ov.edx;
  }
}

} // namespace

caf::expected<paravirt_provider> parse_paravirt(const std::string& text,
                                                const std::string& os_type) {
  auto t = lower(text);
  if (t == "none")
    return paravirt_provider::none;
  if (t == "legacy")
    return paravirt_provider::legacy;
  if (t == "minimal")
    return paravirt_provider::minimal;
  if (t == "kvm")
    return paravirt_provider::kvm;
  if (t == "hyperv")
    return paravirt_provider::hyperv;
  if (t == "default" || t.empty()) {
    auto os = lower(os_type);
    if (os.rfind("windows", 0) == 0)
      return paravirt_provider::hyperv;
    if (os.rfind("macos", 0) == 0 || os.rfind("freebsd", 0) == 0
        || os.rfind("solaris", 0) == 0 || os.rfind("os2", 0) == 0)
      return paravirt_provider::minimal;
    return paravirt_provider::kvm;
  }
  return make_vmm_error(
      vmm_errc::bad_config,
      "unknown paravirtualization provider '" + text
          + "' (none, default, legacy, minimal, kvm, hyperv)");
}

const char* to_string(paravirt_provider p) {
  switch (p) {
  case paravirt_provider::none:
    return "None";
  case paravirt_provider::legacy:
    return "Legacy";
  case paravirt_provider::minimal:
    return "Minimal";
  case paravirt_provider::kvm:
    return "KVM";
  case paravirt_provider::hyperv:
    return "HyperV";
  }
  return "?";
}

caf::expected<std::vector<cpuid_entry>>
build_cpuid(const std::vector<cpuid_entry>& supported,
            const std::vector<cpuid_entry>& hv_supported,
            const cpuid_options& opts, uint32_t index) {
  if (opts.cpus == 0 || index >= opts.cpus)
    return make_vmm_error(vmm_errc::bad_config,
                          "vCPU " + std::to_string(index) + " of "
                              + std::to_string(opts.cpus));
  std::vector<cpuid_entry> t;
  for (auto& e : supported)
    if (!is_hv_leaf(e.function))
      t.push_back(e);
  apply_features(t, opts);
  set_topology(t, opts.cpus, index);
  auto hv = hypervisor_leaves(supported, hv_supported, opts);
  if (!hv)
    return hv.error();
  t.insert(t.end(), hv->begin(), hv->end());
  apply_overrides(t, opts);
  return t;
}

const cpuid_entry* find_leaf(const std::vector<cpuid_entry>& t,
                             uint32_t function, uint32_t index) {
  for (auto& e : t)
    if (e.function == function
        && (e.index == index || !(e.flags & significant_index)))
      return &e;
  return nullptr;
}

} // namespace tb::vmm
