// Outbound side of an RDP session: PDU framing, damage merging and
// bitmap/pointer updates.
#include <algorithm>

#include "display/rdp/bitmap_update.hpp"
#include "display/rdp/byte_io.hpp"
#include "display/rdp/mcs.hpp"
#include "display/rdp/share.hpp"
#include "display/rdp/x224.hpp"
#include "display/rdp_session.hpp"

namespace tb::display {

using namespace tb::display::rdp;

namespace {

constexpr size_t max_damage_rects = 32;
constexpr uint16_t band_rows = 64;

bool touches(const rect& a, const rect& b) {
  return a.x <= b.x + b.w && b.x <= a.x + a.w && a.y <= b.y + b.h
         && b.y <= a.y + a.h;
}

rect unite(const rect& a, const rect& b) {
  int x0 = std::min(a.x, b.x), y0 = std::min(a.y, b.y);
  int x1 = std::max(a.x + a.w, b.x + b.w), y1 = std::max(a.y + a.h, b.y + b.h);
  return rect{static_cast<uint16_t>(x0), static_cast<uint16_t>(y0),
              static_cast<uint16_t>(x1 - x0), static_cast<uint16_t>(y1 - y0)};
}

} // namespace

std::vector<uint8_t> rdp_session::take_output() {
  std::vector<uint8_t> out;
  out.swap(raw_out_);
  if (tls_) {
    // A TLS failure here surfaces on the next feed(); nothing to send.
    if (!tls_->write(out_)) {
      auto c = tls_->take_ciphertext();
      out.insert(out.end(), c.begin(), c.end());
    }
    out_.clear();
  } else {
    out.insert(out.end(), out_.begin(), out_.end());
    out_.clear();
  }
  return out;
}

void rdp_session::send_mcs(uint16_t channel, std::span<const uint8_t> payload) {
  auto sdi = build_send_data_indication(user_channel_, channel, payload);
  auto t = wrap_x224_data(sdi);
  out_.insert(out_.end(), t.begin(), t.end());
}

void rdp_session::send_share(std::span<const uint8_t> pdu) {
  auto wrapped = sec_.wrap(pdu);
  send_mcs(mcs_io_channel, wrapped);
}

void rdp_session::send_update(uint8_t fastpath_code,
                              std::span<const uint8_t> payload) {
  if (caps_.fastpath_output()) {
    byte_writer w;
    w.u8(fastpath_code); // fragmentation single, no compression
    w.u16le(static_cast<uint16_t>(payload.size()));
    w.bytes(payload);
    auto pdu = sec_.wrap_fastpath(w.buffer());
    out_.insert(out_.end(), pdu.begin(), pdu.end());
    return;
  }
  send_share(
      build_share_data(pdu_type2::update, server_channel_source, payload));
}

void rdp_session::send_default_pointer() {
  if (caps_.fastpath_output()) {
    send_update(0x06, {}); // FASTPATH_UPDATETYPE_PTR_DEFAULT
    return;
  }
  byte_writer w;
  w.u16le(1); // TS_PTRMSGTYPE_SYSTEM
  w.u16le(0);
  w.u32le(0x7F00); // SYSPTR_DEFAULT
  send_share(
      build_share_data(pdu_type2::pointer, server_channel_source, w.buffer()));
}

void rdp_session::add_damage(rect r) {
  // Clip to the frame buffer and to the desktop the client knows.
  int x1 = std::min<int>(r.x + r.w, fb_.width());
  int y1 = std::min<int>(r.y + r.h, fb_.height());
  if (desktop_w_) {
    x1 = std::min<int>(x1, desktop_w_);
    y1 = std::min<int>(y1, desktop_h_);
  }
  if (r.x >= x1 || r.y >= y1)
    return;
  r.w = static_cast<uint16_t>(x1 - r.x);
  r.h = static_cast<uint16_t>(y1 - r.y);
  // Merge with every rectangle it touches, repeatedly, so the list stays
  // disjoint and short; past the cap everything becomes one bounding box.
  for (bool merged = true; merged;) {
    merged = false;
    for (auto it = damage_.begin(); it != damage_.end(); ++it) {
      if (touches(*it, r)) {
        r = unite(*it, r);
        damage_.erase(it);
        merged = true;
        break;
      }
    }
  }
  damage_.push_back(r);
  if (damage_.size() > max_damage_rects) {
    rect all = damage_.front();
    for (auto& d : damage_)
      all = unite(all, d);
    damage_.assign(1, all);
  }
}

void rdp_session::encode_pending(size_t budget) {
  if (state_ != state::active)
    return;
  if ((fb_.width() != desktop_w_ || fb_.height() != desktop_h_)
      && caps_.desktop_resize && fb_.width() && fb_.height()) {
    reactivate(); // the guest changed its mode: tell the client
    return;
  }
  if (cfg_.display_disabled)
    damage_.clear(); // Client/DisableDisplay: the screen is never sent
  if (display_suppressed_ || cfg_.display_disabled)
    return;
  bitmap_format fmt;
  fmt.bpp = bpp_;
  fmt.compress = caps_.bitmap_compression;
  fmt.no_compression_header =
      (caps_.extra_flags & no_bitmap_compression_hdr) != 0;
  fmt.max_payload = std::clamp<size_t>(cfg_.max_update_payload, 1024, 0x3E00);
  while (out_.size() < budget) {
    if (sending_.empty()) {
      if (damage_.empty())
        break;
      sending_.swap(damage_); // the next frame begins
    }
    // One band of the oldest rectangle at a time, so a big update does not
    // delay input handling or other clients for long.
    rect& d = sending_.front();
    rect band{d.x, d.y, d.w, std::min(d.h, band_rows)};
    // The frame buffer may have shrunk since the damage was queued (a
    // client without desktop resize keeps its old size).
    rect clipped = band;
    clipped.w = static_cast<uint16_t>(
        std::max(0, std::min<int>(band.x + band.w, fb_.width()) - band.x));
    clipped.h = static_cast<uint16_t>(
        std::max(0, std::min<int>(band.y + band.h, fb_.height()) - band.y));
    if (band.h == d.h) {
      sending_.erase(sending_.begin());
    } else {
      d.y = static_cast<uint16_t>(d.y + band.h);
      d.h = static_cast<uint16_t>(d.h - band.h);
    }
    if (!clipped.empty()) {
      auto payloads =
          cfg_.encoder
              ? cfg_.encoder(clipped, fmt)
              : std::make_shared<const std::vector<std::vector<uint8_t>>>(
                  encode_bitmap_updates(fb_, clipped, fmt));
      for (auto& payload : *payloads) {
        send_update(0x01, payload); // FASTPATH_UPDATETYPE_BITMAP
        ++stats_.update_pdus;
        stats_.update_bytes += payload.size();
      }
    }
    if (sending_.empty())
      ++stats_.frames;
  }
}

rdp_session::stats rdp_session::statistics() const {
  stats s = stats_;
  s.encrypted_out = sec_.packets_out();
  s.decrypted_in = sec_.packets_in();
  return s;
}

void rdp_session::disconnect(rdp_error_info why) {
  if (state_ == state::closed)
    return;
  if (user_channel_ != 0 && state_ >= state::wait_client_info)
    send_share(build_set_error_info(static_cast<uint32_t>(why)));
  if (state_ != state::wait_connection_request) {
    auto t = wrap_x224_data(build_disconnect_ultimatum());
    out_.insert(out_.end(), t.begin(), t.end());
  }
  state_ = state::closed;
}

bool rdp_session::can_redirect() const {
  if (state_ != state::active)
    return false;
  if (!(core_.cluster_flags & rdp::cluster_redirection_supported))
    return false;
  // Under Standard RDP Security the client always decrypts the packet.
  return tls_ || sec_.encrypting();
}

bool rdp_session::redirect(const rdp::redirection_target& t) {
  if (!can_redirect())
    return false;
  if (tls_) {
    send_mcs(mcs_io_channel,
             rdp::build_enhanced_redirection_pdu(t, server_channel_source));
  } else {
    auto packet = rdp::build_redirection_packet(t);
    send_mcs(mcs_io_channel, sec_.wrap(packet, 0x0400 /* REDIRECTION_PKT */));
  }
  // No Disconnect Provider Ultimatum: FreeRDP could act on it before the
  // redirection. The client closes; the server closes after this output.
  state_ = state::closed;
  return true;
}

} // namespace tb::display
