// PIO and MMIO exit round trips through telebox's vCPU executor and device
// bus, next to the engine's own floor (KVM_RUN in a bare loop), on the same
// 16-bit real-mode guest loop as the anchor (anchors/kvm-exit.c).
//
//   vmm_exit [EXITS] [REPS]     prints one SUMMARY line per mode
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/error_text.hpp"
#include "actors/messages/vmm.hpp"
#include "actors/runtime.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/vcpu_executor.hpp"

using namespace tb::vmm;
using clk = std::chrono::steady_clock;

namespace {

constexpr uint64_t code_addr = 0x1000;
constexpr uint64_t mmio_addr = 0xf000; // Beyond the 32 KiB of RAM.

/// Counts accesses and stamps the clock every `per_rep` of them.
class stamp_device final : public tb::devices::pio_device,
                           public tb::devices::mmio_device {
public:
  stamp_device(uint64_t warmup, uint64_t per_rep, int reps)
      : warmup_(warmup), per_rep_(per_rep), last_(warmup + per_rep * reps) {}
  void pio_read(uint16_t, std::span<uint8_t> d) override { hit(d); }
  void pio_write(uint16_t, std::span<const uint8_t>) override { hit({}); }
  void mmio_read(uint64_t, std::span<uint8_t> d) override { hit(d); }
  void mmio_write(uint64_t, std::span<const uint8_t>) override { hit({}); }
  bool done() const { return finished_.load(); }
  const std::vector<clk::time_point>& stamps() const { return stamps_; }

private:
  void hit(std::span<uint8_t> d) {
    std::fill(d.begin(), d.end(), uint8_t{0});
    auto n = ++count_;
    if (n >= warmup_ && (n - warmup_) % per_rep_ == 0 && n <= last_) {
      stamps_.push_back(clk::now());
      if (n == last_)
        finished_.store(true);
    }
  }
  uint64_t warmup_, per_rep_, last_;
  uint64_t count_ = 0;
  std::vector<clk::time_point> stamps_;
  std::atomic<bool> finished_{false};
};

boot_cpu_state real_mode(uint64_t rip) {
  boot_cpu_state st;
  auto seg = [](uint8_t type) {
    x86_segment s;
    s.base = 0, s.limit = 0xffff, s.selector = 0, s.type = type;
    return s;
  };
  auto& s = st.sregs;
  s.cs = seg(0xb);
  s.ds = s.es = s.fs = s.gs = s.ss = seg(0x3);
  s.tr = seg(0xb), s.tr.s = 0;
  s.ldt = seg(0x2), s.ldt.s = 0;
  s.gdt = {0, 0xffff}, s.idt = {0, 0xffff};
  s.cr0 = 0x10;
  st.regs.rip = rip;
  st.regs.rax = 0x42;
  return st;
}

struct guest {
  std::unique_ptr<engine_vm> vm;
  std::unique_ptr<guest_memory> mem;
  std::unique_ptr<engine_vcpu> vcpu;
};

guest make_guest(engine& eng, bool mmio) {
  // out 0x10,al ; jmp $-2   |   mov [0xf000],al ; jmp $-3
  static const uint8_t pio_loop[] = {0xe6, 0x10, 0xeb, 0xfc};
  static const uint8_t mmio_loop[] = {0xa2, 0x00, 0xf0, 0xeb, 0xfb};
  guest g;
  g.vm = std::move(*eng.create_vm());
  g.mem = std::move(*guest_memory::create(0x8000, false));
  if (auto err = g.mem->map_into(*g.vm)) {
    std::fprintf(stderr, "%s\n", tb::error_text(err).c_str());
    std::exit(1);
  }
  std::span<const uint8_t> code = mmio ? std::span<const uint8_t>{mmio_loop}
                                       : std::span<const uint8_t>{pio_loop};
  (void)g.mem->write(code_addr, code);
  g.vcpu = std::move(*g.vm->create_vcpu(0));
  return g;
}

void summary(const char* name, std::vector<double> per) {
  std::sort(per.begin(), per.end());
  std::printf("%s SUMMARY us/exit min %.3f median %.3f max %.3f (reps %zu)\n",
              name, per.front(), per[per.size() / 2], per.back(), per.size());
}

/// The engine alone: KVM_RUN and nothing else, as the anchor does.
void engine_floor(engine& eng, bool mmio, long exits, int reps) {
  auto g = make_guest(eng, mmio);
  (void)g.vcpu->set_boot_state(real_mode(code_addr));
  for (int i = 0; i < 1000; ++i)
    g.vcpu->run();
  std::vector<double> per;
  for (int r = 0; r < reps; ++r) {
    auto t0 = clk::now();
    for (long i = 0; i < exits; ++i)
      g.vcpu->run();
    std::chrono::duration<double, std::micro> dt = clk::now() - t0;
    per.push_back(dt.count() / exits);
  }
  summary(mmio ? "engine-mmio" : "engine-pio", per);
}

/// The full path: executor thread, mailbox check, bus lookup, device.
void executor_path(caf::actor_system& sys, engine& eng, bool mmio, long exits,
                   int reps) {
  auto g = make_guest(eng, mmio);
  stamp_device dev{1000, static_cast<uint64_t>(exits), reps};
  io_bus bus;
  (void)bus.add_pio(0x10, 1, dev, "bench");
  (void)bus.add_mmio(mmio_addr, 0x1000, dev, "bench");
  auto core = std::make_shared<vcpu_core>();
  core->vcpu = std::move(g.vcpu);
  core->bus = &bus;
  core->setup.boot = real_mode(code_addr);
  auto exec = spawn_vcpu_executor(sys, core);
  while (!dev.done())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  caf::scoped_actor self{sys};
  auto h = self->request(exec, std::chrono::seconds(10), stop_atom_v);
  core->vcpu->kick();
  std::move(h).receive([](const vcpu_report&) {}, [](const caf::error&) {});
  std::vector<double> per;
  auto& s = dev.stamps();
  for (size_t i = 1; i < s.size(); ++i) {
    std::chrono::duration<double, std::micro> dt = s[i] - s[i - 1];
    per.push_back(dt.count() / exits);
  }
  summary(mmio ? "telebox-mmio" : "telebox-pio", per);
}

} // namespace

int main(int argc, char** argv) {
  long exits = argc > 1 ? std::atol(argv[1]) : 50000;
  int reps = argc > 2 ? std::atoi(argv[2]) : 10;
  auto eng = open_kvm_engine();
  if (!eng) {
    std::fprintf(stderr, "%s\n", tb::error_text(eng.error()).c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  tb::actors::configure(cfg);
  caf::actor_system sys{cfg};
  for (bool mmio : {false, true}) {
    engine_floor(**eng, mmio, exits, reps);
    executor_path(sys, **eng, mmio, exits, reps);
  }
  return 0;
}
