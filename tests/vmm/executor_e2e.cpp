// The vCPU executor on /dev/kvm: the probe guest boots to its marker through
// the engine, the Multiboot loader and the bus; pause, capture, restore,
// resume and stop answer as documented.
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <gtest/gtest.h>

#include "actors/error_text.hpp"
#include "actors/messages/vmm.hpp"
#include "actors/runtime.hpp"
#include "vmm/boot.hpp"
#include "vmm/cpuid.hpp"
#include "vmm/vcpu_executor.hpp"

using namespace std::chrono_literals;
using namespace tb::vmm;

namespace {

/// Captures what the guest writes to COM1's THR; LSR always says "empty".
class capture_uart final : public tb::devices::pio_device {
public:
  void pio_read(uint16_t offset, std::span<uint8_t> data) override {
    data[0] = offset == 5 ? 0x60 : 0x00;
  }
  void pio_write(uint16_t offset, std::span<const uint8_t> data) override {
    if (offset != 0)
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    text_.push_back(static_cast<char>(data[0]));
  }
  std::string text() {
    std::lock_guard<std::mutex> guard{mtx_};
    return text_;
  }

private:
  std::mutex mtx_;
  std::string text_;
};

struct rig {
  std::unique_ptr<engine> eng;
  std::unique_ptr<engine_vm> vm;
  std::unique_ptr<guest_memory> mem;
  io_bus bus;
  capture_uart uart;
  std::shared_ptr<vcpu_core> core;
};

bool wait_for(capture_uart& u, const std::string& what,
              std::chrono::seconds limit = 20s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (u.text().find(what) != std::string::npos)
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

void build(rig& r, const std::string& cmdline) {
  auto eng = open_kvm_engine();
  ASSERT_TRUE(eng) << tb::error_text(eng.error());
  r.eng = std::move(*eng);
  auto vm = r.eng->create_vm();
  ASSERT_TRUE(vm) << tb::error_text(vm.error());
  r.vm = std::move(*vm);
  ASSERT_FALSE(r.vm->create_platform());
  auto mem = guest_memory::create(64 << 20, false);
  ASSERT_TRUE(mem);
  r.mem = std::move(*mem);
  ASSERT_FALSE(r.mem->map_into(*r.vm));
  ASSERT_FALSE(r.bus.add_pio(0x3f8, 8, r.uart, "capture-uart"));
  auto plan = load_direct_kernel(*r.mem, {TB_PROBE_GUEST, "", cmdline}, {});
  ASSERT_TRUE(plan) << tb::error_text(plan.error());
  auto supported = r.eng->supported_cpuid();
  ASSERT_TRUE(supported) << tb::error_text(supported.error());
  auto table = build_cpuid(*supported, {}, cpuid_options{}, 0);
  ASSERT_TRUE(table);
  auto vcpu = r.vm->create_vcpu(0);
  ASSERT_TRUE(vcpu);
  r.core = std::make_shared<vcpu_core>();
  r.core->vcpu = std::move(*vcpu);
  r.core->bus = &r.bus;
  r.core->setup.cpuid = std::move(*table);
  r.core->setup.boot = plan->bsp;
  r.core->setup.virtual_wire = true;
}

class executor_e2e : public testing::Test {
protected:
  executor_e2e() {
    tb::actors::configure(cfg_);
    sys_.emplace(cfg_);
  }
  ~executor_e2e() override { sys_.reset(); }

  template <class T, class... Ts> T ask(const caf::actor& a, Ts... xs) {
    caf::scoped_actor self{*sys_};
    T out{};
    auto handle = self->request(a, 10s, xs...);
    r_.core->vcpu->kick();
    std::move(handle).receive(
        [&](T& x) { out = std::move(x); },
        [&](caf::error& e) { ADD_FAILURE() << tb::error_text(e); });
    return out;
  }

  caf::actor_system_config cfg_;
  std::optional<caf::actor_system> sys_;
  rig r_;
};

} // namespace

TEST_F(executor_e2e, boots_probe_guest_to_marker_and_stops) {
  build(r_, "telebox.ticker=20");
  auto exec = spawn_vcpu_executor(*sys_, r_.core);
  EXPECT_TRUE(wait_for(r_.uart, "TELEBOX-GUEST-READY"));
  auto rep = ask<vcpu_report>(exec, stop_atom_v);
  EXPECT_EQ(rep.state, "stopped");
  EXPECT_GT(rep.exits[static_cast<size_t>(exit_kind::pio)], 19u);
}

TEST_F(executor_e2e, capture_and_restore_only_while_paused) {
  build(r_, "telebox.ticker=10");
  auto exec = spawn_vcpu_executor(*sys_, r_.core);
  ASSERT_TRUE(wait_for(r_.uart, "TK 1 "));
  {
    // Capture while running is refused with a reason.
    caf::scoped_actor self{*sys_};
    auto h = self->request(exec, 10s, capture_atom_v);
    r_.core->vcpu->kick();
    std::string why;
    std::move(h).receive([](vcpu_state&) {},
                         [&](caf::error& e) { why = tb::error_text(e); });
    EXPECT_EQ(why, "vCPU 0: cannot capture state, it is not paused");
  }
  EXPECT_EQ(ask<vcpu_report>(exec, pause_atom_v).state, "paused");
  auto st = ask<vcpu_state>(exec, capture_atom_v);
  EXPECT_EQ(st.engine, "kvm-x86-1");
  EXPECT_FALSE(st.regs.empty());
  EXPECT_FALSE(st.lapic.empty());
  EXPECT_FALSE(st.msrs.empty());
  auto rep = ask<vcpu_report>(exec, restore_atom_v, st);
  EXPECT_EQ(rep.state, "paused");
  // Capturing again right after the restore gives the same registers.
  auto again = ask<vcpu_state>(exec, capture_atom_v);
  EXPECT_EQ(again.regs, st.regs);
  EXPECT_EQ(again.sregs, st.sregs);
  auto text = r_.uart.text();
  EXPECT_EQ(ask<vcpu_report>(exec, resume_atom_v).state, "running");
  auto ticks = text.size();
  EXPECT_TRUE(wait_for(r_.uart, "TK 5 "));
  EXPECT_GT(r_.uart.text().size(), ticks);
  EXPECT_EQ(ask<vcpu_report>(exec, stop_atom_v).state, "stopped");
}

// A state saved on a host with another TSC rate: the vCPU is made to run at
// the saved rate (KVM scales it, or takes it as is within 250 ppm), or the
// restore fails naming the TSC where the host cannot scale.
TEST_F(executor_e2e, restore_runs_the_tsc_at_the_saved_rate_or_says_why_not) {
  build(r_, "telebox.ticker=10");
  auto exec = spawn_vcpu_executor(*sys_, r_.core);
  ASSERT_TRUE(wait_for(r_.uart, "TK 1 "));
  EXPECT_EQ(ask<vcpu_report>(exec, pause_atom_v).state, "paused");
  auto st = ask<vcpu_state>(exec, capture_atom_v);
  ASSERT_GT(st.tsc_khz, 0u);
  auto near = st;
  near.tsc_khz += st.tsc_khz / 10000; // 100 ppm: another host's calibration.
  EXPECT_EQ(ask<vcpu_report>(exec, restore_atom_v, near).state, "paused");
  auto far = st;
  far.tsc_khz = st.tsc_khz / 2;
  caf::scoped_actor self{*sys_};
  std::string why;
  self->request(exec, 10s, restore_atom_v, far)
      .receive([](vcpu_report&) {},
               [&](caf::error& e) { why = tb::error_text(e); });
  if (why.empty()) // This host scales: the vCPU now reports the saved rate.
    EXPECT_EQ(ask<vcpu_state>(exec, capture_atom_v).tsc_khz, far.tsc_khz);
  else
    EXPECT_NE(why.find("TSC: the saved vCPU ran at "
                       + std::to_string(far.tsc_khz) + " kHz"),
              std::string::npos)
        << why;
  EXPECT_EQ(ask<vcpu_report>(exec, stop_atom_v).state, "stopped");
}

TEST_F(executor_e2e, platform_state_round_trips_into_a_fresh_vm) {
  build(r_, "telebox.ticker=10");
  auto exec = spawn_vcpu_executor(*sys_, r_.core);
  ASSERT_TRUE(wait_for(r_.uart, "TK 1 "));
  EXPECT_EQ(ask<vcpu_report>(exec, pause_atom_v).state, "paused");
  auto st = r_.vm->capture_platform();
  ASSERT_TRUE(st) << tb::error_text(st.error());
  EXPECT_EQ(st->engine, "kvm-x86-1");
  EXPECT_FALSE(st->pic_master.empty());
  EXPECT_FALSE(st->ioapic.empty());
  EXPECT_FALSE(st->pit.empty());
  EXPECT_FALSE(st->clock.empty());
  // A second VM takes the state and gives the same controllers back.
  auto vm2 = r_.eng->create_vm();
  ASSERT_TRUE(vm2);
  ASSERT_FALSE((*vm2)->create_platform());
  auto err = (*vm2)->restore_platform(*st);
  EXPECT_FALSE(err) << tb::error_text(err);
  auto back = (*vm2)->capture_platform();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pic_master, st->pic_master);
  EXPECT_EQ(back->pic_slave, st->pic_slave);
  EXPECT_EQ(back->ioapic, st->ioapic);
  // A blob of the wrong size is refused with a reason, not loaded.
  auto bad = *st;
  bad.pit.resize(3);
  auto why = (*vm2)->restore_platform(bad);
  EXPECT_EQ(tb::error_text(why),
            "saved PIT state has 3 bytes, this host's KVM expects "
                + std::to_string(st->pit.size()));
  EXPECT_EQ(ask<vcpu_report>(exec, resume_atom_v).state, "running");
  EXPECT_EQ(ask<vcpu_report>(exec, stop_atom_v).state, "stopped");
}
