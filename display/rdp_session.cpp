// Inbound side of an RDP session: the connection sequence and the
// active-phase PDUs (MS-RDPBCGR 1.3.1.1).
#include "display/rdp_session.hpp"

#include "display/rdp/byte_io.hpp"
#include "display/rdp/errors.hpp"
#include "display/rdp/mcs.hpp"
#include "display/rdp/share.hpp"
#include "display/rdp/x224.hpp"

namespace tb::display {

using namespace tb::display::rdp;

namespace {

caf::error wrong_state(const char* what) {
  return make_rdp_error(rdp_errc::protocol_violation,
                        std::string{what} + " arrived out of sequence");
}

} // namespace

rdp_session::rdp_session(rdp_session_config cfg, const frame_source& fb,
                         input_sink& input)
    : cfg_(std::move(cfg)), fb_(fb), input_(input) {}

rdp_session::~rdp_session() = default;

caf::error rdp_session::feed(std::span<const uint8_t> bytes) {
  if (state_ == state::closed)
    return {};
  caf::error err;
  if (tls_)
    err = tls_->feed(bytes, in_);
  else
    in_.insert(in_.end(), bytes.begin(), bytes.end());
  if (err) {
    state_ = state::closed;
    return err;
  }
  return process_input();
}

caf::error rdp_session::process_input() {
  caf::error err;
  size_t pos = 0;
  // While a deferred logon decision is out, input waits in in_.
  while (state_ != state::closed && state_ != state::wait_authentication) {
    std::span<const uint8_t> rest{in_.data() + pos, in_.size() - pos};
    auto len = frame_length(rest);
    if (!len) {
      err = std::move(len.error());
      break;
    }
    if (*len == 0 || *len > rest.size())
      break;
    if ((err = handle_frame(rest.first(*len))))
      break;
    pos += *len;
  }
  in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(pos));
  if (err)
    state_ = state::closed;
  return err;
}

caf::error rdp_session::handle_frame(std::span<const uint8_t> frame) {
  if (frame[0] != 0x03)
    return handle_fastpath(frame);
  if (state_ == state::wait_connection_request)
    return handle_connection_request(frame);
  auto mcs = parse_x224_data(frame);
  if (!mcs)
    return mcs.error();
  if (state_ == state::wait_connect_initial)
    return handle_connect_initial(*mcs);
  return handle_domain_pdu(*mcs);
}

caf::error
rdp_session::handle_connection_request(std::span<const uint8_t> frame) {
  auto cr = parse_connection_request(frame);
  if (!cr)
    return cr.error();
  bool rdp_ok = cfg_.allow_rdp_security && cfg_.key;
  auto res = negotiate(*cr, cfg_.tls != nullptr, rdp_ok);
  auto cc = build_connection_confirm(*cr, res);
  raw_out_.insert(raw_out_.end(), cc.begin(), cc.end());
  if (!res.ok) {
    state_ = state::closed;
    return {};
  }
  if (res.selected == protocol_ssl)
    tls_ = std::make_unique<tls_stream>(cfg_.tls);
  requested_protocols_ = cr->has_neg_req ? cr->requested_protocols : 0;
  state_ = state::wait_connect_initial;
  return {};
}

caf::error rdp_session::handle_connect_initial(std::span<const uint8_t> mcs) {
  auto ud = parse_connect_initial(mcs);
  if (!ud)
    return ud.error();
  auto cd = parse_conference_create_request(*ud);
  if (!cd)
    return cd.error();
  core_ = std::move(*cd);
  bpp_ = core_.session_bpp();
  server_data sd;
  sd.requested_protocols = requested_protocols_;
  uint16_t next = mcs_io_channel + 1;
  for (size_t i = 0; i < core_.channels.size(); ++i)
    channel_ids_.push_back(next++);
  user_channel_ = next;
  sd.channel_ids = channel_ids_;
  // Under TLS the RDP security layer does no encryption (5.4).
  encryption_method_ =
      tls_ ? 0
           : choose_encryption_method(core_.encryption_methods,
                                      core_.ext_encryption_methods);
  if (!tls_ && encryption_method_ == 0 && !cfg_.allow_unencrypted)
    return make_rdp_error(
        rdp_errc::negotiation_failed,
        "client offers no usable RDP encryption method (methods "
            + std::to_string(core_.encryption_methods) + ", extended "
            + std::to_string(core_.ext_encryption_methods)
            + ") and unencrypted sessions are off");
  if (encryption_method_ != 0) {
    server_random_.resize(32);
    random_bytes(server_random_);
    sd.encryption_method = encryption_method_;
    sd.encryption_level = 2; // CLIENT_COMPATIBLE
    sd.server_random = server_random_;
    sd.server_certificate = cfg_.key->certificate();
  }
  sec_.set_standard_security(encryption_method_ != 0);
  auto gcc = build_conference_create_response(sd);
  auto resp = build_connect_response(gcc);
  auto tpkt = wrap_x224_data(resp);
  out_.insert(out_.end(), tpkt.begin(), tpkt.end());
  state_ = state::wait_mcs;
  return {};
}

caf::error rdp_session::handle_domain_pdu(std::span<const uint8_t> mcs) {
  auto pdu = parse_domain_pdu(mcs);
  if (!pdu)
    return pdu.error();
  switch (pdu->type) {
  case mcs_pdu::erect_domain_request:
    return {};
  case mcs_pdu::attach_user_request: {
    auto c = build_attach_user_confirm(user_channel_);
    auto t = wrap_x224_data(c);
    out_.insert(out_.end(), t.begin(), t.end());
    return {};
  }
  case mcs_pdu::channel_join_request: {
    uint16_t ch = pdu->channel_id;
    bool known = ch == user_channel_ || ch == mcs_io_channel
                 || std::find(channel_ids_.begin(), channel_ids_.end(), ch)
                        != channel_ids_.end();
    auto c = build_channel_join_confirm(user_channel_, ch, known);
    auto t = wrap_x224_data(c);
    out_.insert(out_.end(), t.begin(), t.end());
    if (state_ == state::wait_mcs)
      state_ = encryption_method_ ? state::wait_security_exchange
                                  : state::wait_client_info;
    return {};
  }
  case mcs_pdu::disconnect_provider_ultimatum:
    state_ = state::closed;
    return {};
  case mcs_pdu::send_data_request:
    if (pdu->channel_id == mcs_io_channel)
      return handle_io_data(pdu->data);
    return {}; // static virtual channels: none implemented yet, drop
  default:
    return make_rdp_error(rdp_errc::unsupported, "unexpected MCS PDU");
  }
}

caf::error rdp_session::handle_io_data(std::span<const uint8_t> data) {
  bool header = sec_.standard_security()
                || state_ == state::wait_security_exchange
                || state_ == state::wait_client_info;
  auto p = sec_.unwrap(data, header);
  if (!p)
    return p.error();
  if (p->flags & sec_exchange_pkt)
    return handle_security_exchange(*p);
  if (p->flags & sec_info_pkt)
    return handle_client_info(*p);
  if (p->flags & sec_license_pkt)
    return {}; // client licensing replies: we already said "valid"
  if (state_ == state::wait_security_exchange
      || state_ == state::wait_client_info)
    return wrong_state("a Share PDU before the Client Info PDU");
  return handle_share(p->data);
}

caf::error rdp_session::handle_security_exchange(const sec_pdu& p) {
  if (state_ != state::wait_security_exchange)
    return wrong_state("Security Exchange PDU");
  byte_reader r{p.data};
  uint32_t len = r.u32le();
  auto enc = r.bytes(len);
  if (!r.ok())
    return make_rdp_error(rdp_errc::malformed_pdu,
                          "Security Exchange PDU: length " + std::to_string(len)
                              + " exceeds the PDU");
  auto cr = cfg_.key->decrypt_client_random(enc);
  if (!cr)
    return cr.error();
  auto keys = derive_session_keys(*cr, server_random_, encryption_method_);
  if (!keys)
    return keys.error();
  sec_.set_keys(std::move(*keys));
  encrypt_license_ = (p.flags & sec_license_encrypt_sc) != 0;
  state_ = state::wait_client_info;
  return {};
}

caf::error rdp_session::handle_client_info(const sec_pdu& p) {
  if (state_ != state::wait_client_info)
    return wrong_state("Client Info PDU");
  auto ci = parse_client_info(p.data);
  if (!ci)
    return ci.error();
  info_ = std::move(*ci);
  if (cfg_.authenticate_deferred) {
    state_ = state::wait_authentication;
    cfg_.authenticate_deferred(info_);
    std::fill(info_.password.begin(), info_.password.end(), '\0');
    info_.password.clear();
    return {};
  }
  bool allowed = !cfg_.authenticate || cfg_.authenticate(info_);
  std::fill(info_.password.begin(), info_.password.end(), '\0');
  info_.password.clear();
  send_logon_reply(allowed, rdp_error_info::server_denied_connection);
  return {};
}

caf::error rdp_session::complete_authentication(bool allowed,
                                                rdp_error_info why) {
  if (state_ != state::wait_authentication)
    return {}; // closed meanwhile, or never asked
  send_logon_reply(allowed, why);
  if (state_ == state::closed)
    return {};
  auto err = process_input();
  if (err)
    state_ = state::closed;
  return err;
}

void rdp_session::send_logon_reply(bool allowed, rdp_error_info why) {
  auto lic = build_license_valid_client();
  auto wrapped = sec_.wrap(lic, sec_license_pkt, encrypt_license_);
  send_mcs(mcs_io_channel, wrapped);
  if (!allowed) {
    disconnect(why);
    return;
  }
  desktop_w_ = fb_.width();
  desktop_h_ = fb_.height();
  server_caps sc{desktop_w_, desktop_h_, bpp_};
  send_share(build_demand_active(sc, 0));
  state_ = state::wait_confirm_active;
}

caf::error rdp_session::handle_share(std::span<const uint8_t> data) {
  while (!data.empty() && state_ != state::closed) {
    size_t used = 0;
    auto pdu = parse_share_pdu(data, used);
    if (!pdu) {
      if (used == 0)
        return pdu.error();
      data = data.subspan(used); // flow control PDU: skip
      continue;
    }
    data = data.subspan(used);
    if (pdu->type == pdu_type::confirm_active) {
      if (state_ != state::wait_confirm_active)
        return wrong_state("Confirm Active PDU");
      auto cc = parse_confirm_active(pdu->body);
      if (!cc)
        return cc.error();
      caps_ = *cc;
      send_share(build_synchronize(user_channel_));
      send_share(build_control(4, 0, 0));
      state_ = state::finalizing;
    } else if (pdu->type == pdu_type::data) {
      if (auto err =
              handle_data_pdu(static_cast<uint8_t>(pdu->type2), pdu->body))
        return err;
    }
  }
  return {};
}

caf::error rdp_session::handle_data_pdu(uint8_t type2,
                                        std::span<const uint8_t> body) {
  byte_reader r{body};
  switch (static_cast<pdu_type2>(type2)) {
  case pdu_type2::control:
    if (r.u16le() == 1) // CTRLACTION_REQUEST_CONTROL
      send_share(build_control(2, user_channel_, server_channel_source));
    return {};
  case pdu_type2::font_list:
    send_share(build_font_map());
    if (state_ == state::finalizing)
      activate();
    return {};
  case pdu_type2::input:
    if (state_ != state::active && state_ != state::finalizing)
      return {};
    return parse_slowpath_input(body, pointer_, input_);
  case pdu_type2::refresh_rect: {
    uint8_t n = r.u8();
    r.skip(3);
    for (uint8_t i = 0; i < n && r.ok(); ++i) {
      uint16_t l = r.u16le(), t = r.u16le(), rr = r.u16le(), b = r.u16le();
      if (r.ok() && rr >= l && b >= t)
        add_damage(rect{l, t, static_cast<uint16_t>(rr - l + 1),
                        static_cast<uint16_t>(b - t + 1)});
    }
    return {};
  }
  case pdu_type2::suppress_output: {
    bool allow = r.u8() != 0;
    display_suppressed_ = !allow;
    if (allow)
      add_damage(rect{0, 0, fb_.width(), fb_.height()});
    return {};
  }
  case pdu_type2::shutdown_request:
    send_share(build_share_data(pdu_type2::shutdown_denied,
                                server_channel_source, {}));
    return {};
  default:
    return {}; // synchronize, persistent key list, frame ack, ...
  }
}

caf::error rdp_session::handle_fastpath(std::span<const uint8_t> frame) {
  if (state_ != state::active && state_ != state::finalizing)
    return {}; // input before the client is active has nothing to reach
  byte_reader r{frame};
  uint8_t hdr = r.u8();
  uint8_t b1 = r.u8();
  if (b1 & 0x80)
    r.skip(1);
  std::vector<uint8_t> body;
  if (hdr & 0x80) {
    auto mac = r.bytes(8);
    auto enc = r.rest();
    if (!r.ok())
      return make_rdp_error(rdp_errc::malformed_pdu,
                            "fast-path input: encrypted PDU without a MAC");
    body.assign(enc.begin(), enc.end());
    if (auto err = sec_.unwrap_fastpath(body, mac, (hdr & 0x40) != 0))
      return err;
  } else {
    auto rest = r.rest();
    body.assign(rest.begin(), rest.end());
  }
  return parse_fastpath_input(body, (hdr >> 2) & 0x0F, pointer_, input_);
}

void rdp_session::activate() {
  state_ = state::active;
  send_default_pointer();
  damage_.clear();
  sending_.clear();
  add_damage(rect{0, 0, desktop_w_, desktop_h_});
}

void rdp_session::reactivate() {
  byte_writer w;
  w.u32le(share_id);
  w.u16le(1); // lengthSourceDescriptor
  w.u8(0);
  send_share(build_share_control(pdu_type::deactivate_all,
                                 server_channel_source, w.buffer()));
  desktop_w_ = fb_.width();
  desktop_h_ = fb_.height();
  server_caps sc{desktop_w_, desktop_h_, bpp_};
  send_share(build_demand_active(sc, 0));
  damage_.clear();
  sending_.clear();
  state_ = state::wait_confirm_active;
}

} // namespace tb::display
