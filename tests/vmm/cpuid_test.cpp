// CPUID filtering: topology per vCPU, feature switches, hypervisor leaves
// per paravirtualization provider, and --cpuid-set overrides.
#include <cstring>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "vmm/cpuid.hpp"

using namespace tb::vmm;

namespace {

/// A small table shaped like KVM_GET_SUPPORTED_CPUID's answer.
std::vector<cpuid_entry> supported() {
  std::vector<cpuid_entry> t;
  t.push_back(
      {1, 0, 0, 0x00a00f11, 0x00000800, 0x7ed8320b | (1u << 5), 0x178bfbff});
  t.push_back({0xb, 0, 1, 0, 2, 0x100, 0});
  t.push_back({0xb, 1, 1, 4, 4, 0x201, 0});
  t.push_back(
      {0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d});
  t.push_back({0x40000001, 0, 0, 0x01007afb, 0, 0, 0});
  t.push_back({0x80000001, 0, 0, 0, 0, 0x75c237ff | (1u << 2), 0x2fd3fbff});
  return t;
}

std::string signature(const cpuid_entry& e) {
  char s[13] = {};
  std::memcpy(s, &e.ebx, 4);
  std::memcpy(s + 4, &e.ecx, 4);
  std::memcpy(s + 8, &e.edx, 4);
  return s;
}

} // namespace

TEST(cpuid, second_vcpu_gets_apic_id_one_and_the_cpu_count) {
  cpuid_options o;
  o.cpus = 2;
  auto t = build_cpuid(supported(), {}, o, 1);
  ASSERT_TRUE(t);
  auto* l1 = find_leaf(*t, 1);
  ASSERT_TRUE(l1);
  EXPECT_EQ(l1->ebx >> 24, 1u);          // Initial APIC ID.
  EXPECT_EQ((l1->ebx >> 16) & 0xff, 2u); // Logical processors.
  EXPECT_TRUE(l1->edx & (1u << 28));     // HTT with more than one.
  auto* core = find_leaf(*t, 0xb, 1);
  ASSERT_TRUE(core);
  EXPECT_EQ(core->ebx, 2u);
  EXPECT_EQ(core->edx, 1u); // x2APIC ID.
}

TEST(cpuid, vmx_and_svm_are_hidden_and_hypervisor_bit_is_set) {
  auto t = build_cpuid(supported(), {}, cpuid_options{}, 0);
  ASSERT_TRUE(t);
  EXPECT_FALSE(find_leaf(*t, 1)->ecx & (1u << 5));
  EXPECT_TRUE(find_leaf(*t, 1)->ecx & (1u << 31));
  EXPECT_FALSE(find_leaf(*t, 0x80000001)->ecx & (1u << 2));
}

TEST(cpuid, long_mode_off_clears_lm) {
  cpuid_options o;
  o.long_mode = false;
  auto t = build_cpuid(supported(), {}, o, 0);
  ASSERT_TRUE(t);
  EXPECT_FALSE(find_leaf(*t, 0x80000001)->edx & (1u << 29));
}

TEST(cpuid, provider_none_has_no_hypervisor_leaves) {
  cpuid_options o;
  o.paravirt = paravirt_provider::none;
  auto t = build_cpuid(supported(), {}, o, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(find_leaf(*t, 0x40000000), nullptr);
}

TEST(cpuid, provider_kvm_keeps_the_kvm_signature) {
  auto t = build_cpuid(supported(), {}, cpuid_options{}, 0);
  ASSERT_TRUE(t);
  auto* sig = find_leaf(*t, 0x40000000);
  ASSERT_TRUE(sig);
  EXPECT_EQ(signature(*sig), "KVMKVMKVM");
  EXPECT_EQ(sig->eax, 0x40000001u);
}

TEST(cpuid, provider_minimal_reports_tsc_and_apic_frequency) {
  cpuid_options o;
  o.paravirt = paravirt_provider::minimal;
  o.tsc_khz = 2596000;
  auto t = build_cpuid(supported(), {}, o, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(signature(*find_leaf(*t, 0x40000000)), "VBoxVBoxVBox");
  auto* timing = find_leaf(*t, 0x40000010);
  ASSERT_TRUE(timing);
  EXPECT_EQ(timing->eax, 2596000u);
  EXPECT_EQ(timing->ebx, 1000000u); // KVM's APIC timer runs at 1 GHz.
}

TEST(cpuid, provider_hyperv_without_engine_support_fails_clearly) {
  cpuid_options o;
  o.paravirt = paravirt_provider::hyperv;
  auto t = build_cpuid(supported(), {}, o, 0);
  ASSERT_FALSE(t);
  EXPECT_NE(tb::error_text(t.error()).find("no Hyper-V enlightenments"),
            std::string::npos);
}

TEST(cpuid, provider_hyperv_moves_kvm_leaves_up) {
  cpuid_options o;
  o.paravirt = paravirt_provider::hyperv;
  std::vector<cpuid_entry> hv{
      {0x40000000, 0, 0, 0x4000000a, 0x7263694d, 0x666f736f, 0x76482074}};
  auto t = build_cpuid(supported(), hv, o, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(signature(*find_leaf(*t, 0x40000000)), "Microsoft Hv");
  EXPECT_EQ(signature(*find_leaf(*t, 0x40000100)), "KVMKVMKVM");
}

TEST(cpuid, override_replaces_the_whole_leaf) {
  cpuid_options o;
  o.overrides.push_back({1, 0, 0x11, 0x22, 0x33, 0x44});
  auto t = build_cpuid(supported(), {}, o, 0);
  ASSERT_TRUE(t);
  auto* l1 = find_leaf(*t, 1);
  EXPECT_EQ(l1->eax, 0x11u);
  EXPECT_EQ(l1->edx, 0x44u);
}

TEST(cpuid, default_provider_follows_the_os_type) {
  EXPECT_EQ(*parse_paravirt("Default", "Windows10_64"),
            paravirt_provider::hyperv);
  EXPECT_EQ(*parse_paravirt("default", "Debian_64"), paravirt_provider::kvm);
  EXPECT_EQ(*parse_paravirt("Default", "MacOS_64"), paravirt_provider::minimal);
  EXPECT_EQ(*parse_paravirt("LEGACY", ""), paravirt_provider::legacy);
  EXPECT_FALSE(parse_paravirt("xen", ""));
}
