// The CPUID table a vCPU sees: the engine's supported leaves filtered by the
// machine settings (CPU count, PAE/long mode, --cpuid-set overrides) plus
// the hypervisor leaves of the chosen paravirtualization provider.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "vmm/engine.hpp"

namespace tb::vmm {

/// VirtualBox's --paravirtprovider values.
enum class paravirt_provider { none, legacy, minimal, kvm, hyperv };

/// Parses "None", "default", "KVM", ... (case-insensitive). "Default" picks
/// by guest OS type as VirtualBox does: Windows -> Hyper-V, Linux or
/// unknown -> KVM, others (macOS, ...) -> Minimal.
caf::expected<paravirt_provider> parse_paravirt(const std::string& text,
                                                const std::string& os_type);

const char* to_string(paravirt_provider p);

/// One --cpuid-set override: the whole leaf is replaced.
struct cpuid_override {
  uint32_t leaf = 0;
  uint32_t subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

/// What the settings say about the virtual CPU.
struct cpuid_options {
  uint32_t cpus = 1;
  bool pae = true;
  bool long_mode = true;
  paravirt_provider paravirt = paravirt_provider::kvm;
  uint32_t tsc_khz = 0; ///< For the Minimal provider's timing leaf.
  std::vector<cpuid_override> overrides;
};

/// Builds the table for vCPU `index`. `hv_supported` is the engine's Hyper-V
/// leaf set (needed only for the Hyper-V provider).
caf::expected<std::vector<cpuid_entry>>
build_cpuid(const std::vector<cpuid_entry>& supported,
            const std::vector<cpuid_entry>& hv_supported,
            const cpuid_options& opts, uint32_t index);

/// The entry for (function, index), or nullptr.
const cpuid_entry* find_leaf(const std::vector<cpuid_entry>& t,
                             uint32_t function, uint32_t index = 0);

} // namespace tb::vmm
