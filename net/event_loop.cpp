#include "net/event_loop.hpp"

#include <csignal>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <uv.h>

#include "net/errors.hpp"

namespace tb::net {

struct event_loop::impl {
  uv_loop_t loop{};
  uv_async_t wake{};
  std::thread thread;
  std::thread::id thread_id;
  std::mutex mtx;
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  bool running = false;
  std::map<uint64_t, std::function<void()>> closers;
  uint64_t next_closer = 1;

  static void on_wake(uv_async_t* a) {
    auto* self = static_cast<impl*>(a->data);
    std::deque<std::function<void()>> work;
    bool stop_now;
    {
      std::lock_guard lock{self->mtx};
      work.swap(self->queue);
      stop_now = self->stopping;
    }
    for (auto& fn : work)
      fn();
    if (stop_now) {
      auto closers = std::move(self->closers);
      for (auto& [id, fn] : closers)
        fn();
      uv_walk(
          &self->loop,
          [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h))
              uv_close(h, nullptr);
          },
          nullptr);
    }
  }
};

struct timer_handle {
  uv_timer_t timer;
  std::function<void()> fn;
};

event_loop::event_loop() : impl_(std::make_unique<impl>()) {}

caf::expected<std::unique_ptr<event_loop>> event_loop::start() {
  // libuv writes with write(2): a peer that closed its socket would raise
  // SIGPIPE and kill the process (seen with xfreerdp /auth-only). Ignore it
  // unless the program installed its own handler; writes then fail EPIPE.
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
    std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<event_loop> el{new event_loop()};
  auto* p = el->impl_.get();
  if (int rc = uv_loop_init(&p->loop); rc != 0)
    return make_net_error(net_errc::io_error,
                          std::string{"event loop: uv_loop_init failed: "}
                              + uv_strerror(rc));
  p->wake.data = p;
  uv_async_init(&p->loop, &p->wake, &impl::on_wake);
  p->loop.data = p;
  p->running = true;
  std::promise<void> started;
  auto fut = started.get_future();
  p->thread = std::thread([p, &started] {
    p->thread_id = std::this_thread::get_id();
    started.set_value();
    uv_run(&p->loop, UV_RUN_DEFAULT);
    // Let close callbacks of handles closed during shutdown run.
    uv_run(&p->loop, UV_RUN_DEFAULT);
    uv_loop_close(&p->loop);
  });
  fut.wait();
  return el;
}

event_loop::~event_loop() {
  stop();
}

void event_loop::post(std::function<void()> fn) {
  {
    std::lock_guard lock{impl_->mtx};
    if (impl_->stopping)
      return;
    impl_->queue.push_back(std::move(fn));
  }
  uv_async_send(&impl_->wake);
}

bool event_loop::call(const std::function<void()>& fn) {
  if (in_loop_thread()) {
    fn();
    return true;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  {
    std::lock_guard lock{impl_->mtx};
    if (impl_->stopping)
      return false;
    impl_->queue.push_back([&fn, done] {
      fn();
      done->set_value();
    });
  }
  uv_async_send(&impl_->wake);
  fut.wait();
  return true;
}

bool event_loop::in_loop_thread() const {
  return std::this_thread::get_id() == impl_->thread_id;
}

void event_loop::every(std::chrono::milliseconds period,
                       std::function<void()> fn) {
  post([this, period, fn = std::move(fn)]() mutable {
    auto* t = new timer_handle{{}, std::move(fn)};
    uv_timer_init(&impl_->loop, &t->timer);
    t->timer.data = t;
    auto ms = static_cast<uint64_t>(period.count());
    uv_timer_start(
        &t->timer,
        [](uv_timer_t* h) { static_cast<timer_handle*>(h->data)->fn(); }, ms,
        ms);
    on_stop([t] {
      uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) {
        delete static_cast<timer_handle*>(h->data);
      });
    });
  });
}

void event_loop::stop() {
  if (!impl_->running)
    return;
  {
    std::lock_guard lock{impl_->mtx};
    impl_->stopping = true;
  }
  uv_async_send(&impl_->wake);
  if (impl_->thread.joinable() && !in_loop_thread())
    impl_->thread.join();
  impl_->running = false;
}

void* event_loop::native() const {
  return &impl_->loop;
}

uint64_t event_loop::on_stop(std::function<void()> fn) {
  uint64_t id = impl_->next_closer++;
  impl_->closers.emplace(id, std::move(fn));
  return id;
}

void event_loop::cancel_on_stop(uint64_t id) {
  impl_->closers.erase(id);
}

} // namespace tb::net
