// Command line of telebox-headless (VBoxHeadless syntax plus telebox's
// --serial-stdout and --host-service).
#include <set>

#include "headless.hpp"
#include "vmm/errors.hpp"

namespace tb::headless {

std::string usage() {
  return "Usage:\n"
         "   -s, -startvm, --startvm <name|uuid>   Start given VM (required "
         "argument)\n"
         "   -v, -vrde, --vrde on|off|config       Enable or disable the VRDE "
         "server\n"
         "                                         or don't change the "
         "setting (default)\n"
         "   --start-paused, -start-paused         Start the VM in paused "
         "state\n"
         "   --serial-stdout                       Copy COM1 output to "
         "stdout\n"
         "   --host-service                        Report to and take "
         "controlvm from teleboxd\n";
}

caf::expected<options> parse_options(const std::vector<std::string>& args) {
  options o;
  auto fail = [](const std::string& why) {
    return vmm::make_vmm_error(vmm::vmm_errc::bad_config, why);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](const char* name) -> caf::expected<std::string> {
      if (i + 1 >= args.size())
        return fail(std::string{"option "} + name + " needs a value");
      return args[++i];
    };
    if (a == "-s" || a == "-startvm" || a == "--startvm") {
      auto v = value("--startvm");
      if (!v)
        return v.error();
      o.vm = *v;
    } else if (a == "-v" || a == "-vrde" || a == "--vrde") {
      auto v = value("--vrde");
      if (!v)
        return v.error();
      static const std::set<std::string> ok{"on", "off", "config"};
      if (!ok.count(*v))
        return fail("--vrde: expected on, off or config, got '" + *v + "'");
      o.vrde = *v;
    } else if (a == "--start-paused" || a == "-start-paused") {
      o.start_paused = true;
    } else if (a == "--serial-stdout") {
      o.serial_stdout = true;
    } else if (a == "--host-service") {
      o.host_service = true;
    } else if (a == "-h" || a == "-help" || a == "--help") {
      o.help = true;
    } else {
      return fail("unknown option: " + a);
    }
  }
  if (o.vm.empty() && !o.help)
    return fail("no VM given (--startvm <name|uuid>)");
  return o;
}

} // namespace tb::headless
