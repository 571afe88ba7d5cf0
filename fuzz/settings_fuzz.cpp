// Feeds arbitrary bytes to the settings parsers, then checks that whatever
// parsed can be written and read back: a file telebox writes must always
// load again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "settings/global_config.hpp"
#include "settings/machine_config.hpp"
#include "settings/xml.hpp"

namespace {

using namespace tb::settings;

void require(bool ok) {
  if (!ok)
    std::abort();
}

void xml_round_trip(std::string_view text) {
  auto doc = parse_xml(text, "fuzz.xml");
  if (!doc)
    return;
  auto out = write_xml(*doc);
  auto again = parse_xml(out, "fuzz-again.xml");
  require(static_cast<bool>(again));
  require(write_xml(*again) == out);
}

void machine_round_trip(std::string_view text) {
  auto m = machine_config::parse(text, "/fuzz/m.vbox");
  if (!m)
    return;
  auto hw = m->hardware();
  m->set_hardware(hw); // unchanged: must be a no-op
  require(m->hardware() == hw);
  (void)m->teleporter();
  (void)m->media();
  (void)m->extradata_all();
  (void)m->description();
  // Exercise the writers on a changed view.
  hw.memory_mb = 256;
  hw.cpus = hw.cpus == 1 ? 2 : 1;
  hw.vrde.enabled = !hw.vrde.enabled;
  hw.vrde.properties["TCP/Ports"] = "5000";
  hw.boot_order = {"DVD", "HardDisk", "None", "None"};
  if (!hw.nics.empty())
    hw.nics[0].attachment = hw.nics[0].attachment == "NAT" ? "" : "NAT";
  hw.usb_controllers = {"XHCI"};
  m->set_hardware(hw);
  m->set_extradata("fuzz", "1");
  m->add_medium({"HardDisk", "{aaaaaaaa-0000-0000-0000-000000000001}", "d.vdi",
                 "VDI", "Normal", ""});
  auto out = write_xml(m->document());
  auto again = machine_config::parse(out, "/fuzz/m2.vbox");
  require(static_cast<bool>(again));
  require(again->hardware() == m->hardware());
}

void global_round_trip(std::string_view text) {
  auto g = global_config::parse(text, "/fuzz");
  if (!g)
    return;
  (void)g->machines();
  (void)g->media();
  auto p = g->properties();
  p.default_machine_folder = "/vms";
  g->set_properties(p);
  g->add_machine({"{aaaaaaaa-0000-0000-0000-000000000002}", "/vms/a.vbox"});
  g->set_extradata("fuzz", "");
  auto out = write_xml(g->document());
  require(static_cast<bool>(global_config::parse(out, "/fuzz")));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  xml_round_trip(text);
  machine_round_trip(text);
  global_round_trip(text);
  return 0;
}
