#include "vmm/ioevent_loop.hpp"

#include <cerrno>
#include <cstdint>

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/errors.hpp"

namespace tb::vmm {

caf::expected<event_fd> event_fd::create() {
  event_fd out;
  out.fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (out.fd_ < 0)
    return make_errno_error(vmm_errc::io_error, "eventfd", errno);
  return out;
}

event_fd::event_fd(event_fd&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

event_fd& event_fd::operator=(event_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

event_fd::~event_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

void event_fd::signal() const {
  uint64_t one = 1;
  // Fails only when the counter would overflow: it is set then anyway.
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
}

bool event_fd::consume() const {
  uint64_t value = 0;
  return ::read(fd_, &value, sizeof value) == sizeof value && value != 0;
}

caf::expected<std::unique_ptr<ioevent_loop>> ioevent_loop::create() {
  std::unique_ptr<ioevent_loop> loop{new ioevent_loop};
  loop->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epoll_fd_ < 0)
    return make_errno_error(vmm_errc::io_error, "epoll_create1", errno);
  auto stop = event_fd::create();
  if (!stop)
    return stop.error();
  loop->stop_ = std::move(*stop);
  if (auto err = loop->watch(loop->stop_, {}))
    return err;
  return loop;
}

ioevent_loop::~ioevent_loop() {
  stop();
  if (epoll_fd_ >= 0)
    ::close(epoll_fd_);
}

caf::error ioevent_loop::watch(const event_fd& fd, handler on_event) {
  entries_.push_back(
      std::make_unique<entry>(entry{fd.fd(), std::move(on_event)}));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = entries_.back().get();
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd.fd(), &ev) < 0) {
    entries_.pop_back();
    return make_errno_error(vmm_errc::io_error, "epoll_ctl(EPOLL_CTL_ADD)",
                            errno);
  }
  return caf::none;
}

caf::error ioevent_loop::start(const std::string& name) {
  if (running())
    return caf::none;
  try {
    thread_ = std::thread{[this] { run(); }};
  } catch (const std::system_error& e) {
    return make_vmm_error(vmm_errc::io_error,
                          std::string{"cannot start the I/O event thread: "}
                              + e.what());
  }
  pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  return caf::none;
}

void ioevent_loop::stop() {
  if (!thread_.joinable())
    return;
  stop_.signal();
  thread_.join();
}

void ioevent_loop::run() {
  epoll_event events[16];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return; // epoll fd broken: nothing more can be served
    for (int i = 0; i < n; ++i) {
      auto* e = static_cast<entry*>(events[i].data.ptr);
      if (e->fd == stop_.fd())
        return;
      uint64_t value = 0;
      if (::read(e->fd, &value, sizeof value) != sizeof value)
        continue; // another reader (quiesce) took it first
      served_.fetch_add(1, std::memory_order_relaxed);
      if (e->fn)
        e->fn();
    }
  }
}

irqfd_line::irqfd_line(event_fd trigger, event_fd resample)
    : trigger_(std::move(trigger)), resample_(std::move(resample)) {}

void irqfd_line::set_level(bool high) {
  high_.store(high);
  if (high)
    trigger_.signal();
}

void irqfd_line::resampled() {
  if (high_.load())
    trigger_.signal();
}

} // namespace tb::vmm
