// The VM process side of the host service protocol.
#include "cluster/vm_link.hpp"

#include <chrono>

#include <unistd.h>

#include <caf/all.hpp>

#include "actors/error_text.hpp"
#include "cluster/host_client.hpp"
#include "cluster/host_errors.hpp"

namespace tb::cluster {

namespace {

host::vm_control_actor::behavior_type
control_impl(host::vm_control_actor::pointer, control_handler handler) {
  return {
      [handler](host::control_atom, const host::cli_request& req) {
        return handler(req);
      },
  };
}

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

caf::expected<vm_link> vm_link::attach(caf::actor_system& sys,
                                       const std::string& folder,
                                       const std::string& uuid,
                                       control_handler handler) {
  auto api = connect_host_service(sys, folder, autostart::no);
  if (!api)
    return api.error();
  vm_link link;
  link.api_ = *api;
  link.uuid_ = uuid;
  link.control_ = sys.spawn(control_impl, std::move(handler));
  caf::scoped_actor self{sys};
  caf::error failed;
  self->request(link.api_, std::chrono::seconds(10), host::vm_attach_atom_v,
                uuid, static_cast<int32_t>(::getpid()), link.control_)
      .receive([](bool) {}, [&](caf::error& e) { failed = e; });
  if (failed) {
    caf::anon_send_exit(link.control_, caf::exit_reason::user_shutdown);
    return make_host_error(host_errc::vm_failed,
                           "cannot attach to the host service: "
                               + error_text(failed));
  }
  return link;
}

void vm_link::report(const std::string& state, int32_t vrde_port) const {
  // Sent as the control actor: the host service only accepts reports from
  // the node that authenticated.
  caf::send_as(control_, api_, host::vm_status_atom_v,
               host::vm_status{uuid_, state, wall_clock_ns(), vrde_port,
                               static_cast<int32_t>(::getpid())});
}

void vm_link::close() const {
  caf::anon_send_exit(control_, caf::exit_reason::user_shutdown);
}

} // namespace tb::cluster
