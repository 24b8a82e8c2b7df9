//! The command table and the path every line takes: framing checks,
//! parsing, lookup, the shared checks (registration, parameter count, oper
//! capability), then the handler; errors become replies in one place.
//!
//! Also the per-client timers (registration timeout, PING, ping timeout)
//! and flood admission (with draft/multiline's billing), since they are
//! the other inputs `net` drives.
//! Imports `proto`, `state` and its handlers.

use std::time::Instant;

use super::clock::Stamp;
use super::error::{CmdError, CmdResult};
use super::handlers::{
    accountreg, channel, messaging, modes, monitor, multiline, oper, query, read_marker,
    registration, relaymsg, rename, sa, sasl, user, xline,
};
use super::labels;
use super::services;
use super::timers::Timers;
use super::{ClientId, State};
use crate::proto::line::{self, LineError};
use crate::proto::numeric::*;
use crate::proto::{caps, Message};

/// A command handler: the client, its parsed line, the time.
pub type Handler = fn(&mut State, ClientId, &Message, Instant) -> CmdResult;

/// One row of the command table.
pub struct Spec {
    pub name: &'static str,
    pub handler: Handler,
    /// Fewer parameters than this → 461.
    pub min_params: usize,
    /// Usable before registration completes.
    pub pre_reg: bool,
    /// Needs an oper session whose class has this capability ("" = any oper).
    pub oper: Option<&'static str>,
}

const fn cmd(name: &'static str, handler: Handler, min_params: usize, pre_reg: bool) -> Spec {
    Spec {
        name,
        handler,
        min_params,
        pre_reg,
        oper: None,
    }
}

const fn oper_cmd(
    name: &'static str,
    handler: Handler,
    min_params: usize,
    cap: &'static str,
) -> Spec {
    Spec {
        name,
        handler,
        min_params,
        pre_reg: false,
        oper: Some(cap),
    }
}

/// Every command, sorted by name (binary search).
pub static COMMANDS: &[Spec] = &[
    cmd("ADMIN", query::admin, 0, false),
    cmd("AUTHENTICATE", sasl::authenticate, 1, true),
    cmd("AWAY", user::away, 0, true),
    cmd("BATCH", multiline::batch, 1, false),
    cmd("CAP", registration::cap, 1, true),
    cmd("CHANSERV", services::irc_command, 0, false),
    cmd("CS", services::irc_command, 0, false),
    oper_cmd("DLINE", xline::dline, 1, "ban"),
    cmd("HELP", query::help, 0, false),
    cmd("HELPOP", query::help, 0, false),
    cmd("INFO", query::info, 0, false),
    cmd("INVITE", channel::invite, 2, false),
    cmd("ISON", query::ison, 1, false),
    cmd("ISUPPORT", registration::isupport, 0, true),
    cmd("JOIN", channel::join, 1, false),
    cmd("KICK", channel::kick, 2, false),
    oper_cmd("KILL", oper::kill, 1, "kill"),
    oper_cmd("KLINE", xline::kline, 1, "ban"),
    cmd("LIST", channel::list, 0, false),
    cmd("LUSERS", query::lusers, 0, false),
    cmd("MARKREAD", read_marker::markread, 0, false),
    cmd("MODE", modes::mode, 1, false),
    cmd("MONITOR", monitor::monitor, 1, false),
    cmd("MOTD", query::motd, 0, false),
    cmd("NAMES", channel::names, 0, false),
    cmd("NICK", registration::nick, 0, true),
    cmd("NICKSERV", services::irc_command, 0, false),
    cmd("NOTICE", messaging::notice, 0, false),
    cmd("NS", services::irc_command, 0, false),
    cmd("OPER", oper::oper, 1, false),
    cmd("PART", channel::part, 1, false),
    cmd("PASS", registration::pass, 1, true),
    cmd("PING", registration::ping, 1, true),
    cmd("PONG", registration::pong, 0, true),
    cmd("PRIVMSG", messaging::privmsg, 0, false),
    cmd("QUIT", registration::quit, 0, true),
    cmd("REGISTER", accountreg::register, 3, true),
    oper_cmd("REHASH", oper::rehash, 0, "rehash"),
    cmd("RELAYMSG", relaymsg::relaymsg, 3, false),
    cmd("RENAME", rename::rename, 2, false),
    oper_cmd("SAJOIN", sa::sajoin, 1, "sajoin"),
    oper_cmd("SAMODE", sa::samode, 1, "samode"),
    oper_cmd("SANICK", sa::sanick, 2, "samode"),
    cmd("SETNAME", user::setname, 1, false),
    cmd("TAGMSG", messaging::tagmsg, 0, false),
    cmd("TIME", query::time, 0, false),
    cmd("TOPIC", channel::topic, 1, false),
    oper_cmd("UNDLINE", xline::undline, 1, "ban"),
    oper_cmd("UNKLINE", xline::unkline, 1, "ban"),
    cmd("USER", registration::user, 4, true),
    cmd("USERHOST", query::userhost, 1, false),
    cmd("VERIFY", accountreg::verify, 2, true),
    cmd("VERSION", query::version, 0, false),
    oper_cmd("WALLOPS", oper::wallops, 1, "wallops"),
    cmd("WHO", query::who, 0, false),
    cmd("WHOIS", query::whois, 1, false),
    cmd("WHOWAS", query::whowas, 1, false),
];

/// The table row for a command name (ASCII case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Spec> {
    let mut upper = [0u8; 16];
    if name.len() > upper.len() {
        return None;
    }
    for (d, s) in upper.iter_mut().zip(name.bytes()) {
        *d = s.to_ascii_uppercase();
    }
    let key = std::str::from_utf8(&upper[..name.len()]).ok()?;
    COMMANDS
        .binary_search_by(|s| s.name.cmp(key))
        .ok()
        .map(|i| &COMMANDS[i])
}

impl State {
    /// Handles one framed line (without CR LF) from client `id`.
    pub fn handle_line(&mut self, id: ClientId, raw: &[u8], now: Instant) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.dead {
            return;
        }
        c.last_seen = self.clock.stamp(now);
        c.ping_sent = false;
        let stripped = line::strip_telnet(raw);
        let text = match line::check(&stripped) {
            Ok(t) => t,
            Err(e) => return self.reject_line(id, e, &stripped),
        };
        let Ok(msg) = Message::parse(text) else {
            return; // an empty line is ignored, as every server does
        };
        let label = msg.tag("label").filter(|l| labels::valid_label(l));
        let labeled = label.is_some() && self.clients[id].has_cap(caps::LABELED_RESPONSE);
        if let (true, Some(label)) = (labeled, label) {
            self.begin_label(id, label);
        }
        // An open draft/multiline batch lets few commands through.
        let refused = multiline::intercepts(self, id, &msg);
        match lookup(msg.command) {
            _ if refused => {}
            None => {
                let cmd = msg.command.to_ascii_uppercase();
                self.reply_error(id, &CmdError::UnknownCommand(cmd));
            }
            Some(spec) => {
                if let Err(e) = self.check_and_run(spec, id, &msg, now) {
                    self.reply_error(id, &e);
                }
            }
        }
        // A server batch never outlives the command that opened it.
        self.end_batch();
        if labeled {
            self.end_label();
        }
        // A command changes at most its sender's modes or oper session.
        self.recount(id);
    }

    fn check_and_run(
        &mut self,
        spec: &Spec,
        id: ClientId,
        msg: &Message,
        now: Instant,
    ) -> CmdResult {
        let c = &self.clients[id];
        if !c.registered && !spec.pre_reg {
            return Err(CmdError::NotRegistered);
        }
        if msg.params.len() < spec.min_params {
            return Err(CmdError::NeedMoreParams(spec.name));
        }
        if let Some(cap) = spec.oper {
            let allowed = c.is_oper() && (cap.is_empty() || c.has_oper_cap(cap));
            if !allowed {
                return Err(CmdError::NoPrivileges);
            }
        }
        (spec.handler)(self, id, msg, now)
    }

    /// Answers a line refused by framing checks.
    fn reject_line(&mut self, id: ClientId, err: LineError, raw: &[u8]) {
        match err {
            LineError::BodyTooLong => {
                self.numeric(id, ERR_INPUTTOOLONG, &[], "Input line too long")
            }
            LineError::TagsTooLong => self.numeric(
                id,
                ERR_INPUTTOOLONG,
                &[],
                "Input line contained excess tag data",
            ),
            LineError::Nul => self.quit(id, "Received malformed line"),
            LineError::InvalidUtf8 => {
                let cmd = line::command_of(raw);
                let cmd = if cmd.is_empty() { "*".to_string() } else { cmd };
                self.send_from_server(
                    id,
                    "FAIL",
                    &[&cmd, "INVALID_UTF8"],
                    Some("Message rejected for containing invalid UTF-8"),
                );
            }
        }
    }

    /// The connection dropped a line longer than `LINE_MAX` bytes.
    pub fn handle_overlong(&mut self, id: ClientId) {
        self.reject_line(id, LineError::BodyTooLong, b"");
    }

    /// Flood control: may client `id` have its next line handled at `now`?
    /// `None`: yes. `Some(t)`: not before `t`.
    pub fn admit(&mut self, id: ClientId, now: Instant) -> Option<Instant> {
        let cfg = &self.config.fakelag;
        let free = self.config.limits.multiline_max_lines + 1;
        let c = self.clients.get_mut(id)?;
        if !c.registered || c.dead || c.has_oper_cap("nofakelag") {
            // Exempt: a multiline bill is forgiven (and its box freed).
            if let Some(e) = c.extra.as_deref_mut().filter(|e| e.fakelag_debt > 0) {
                e.fakelag_debt = 0;
                c.tidy_extra();
            }
            return None;
        }
        // draft/multiline, billed as Ergo bills it: the lines of an open
        // batch pass free, at most max-lines + 1 of them (its lines and
        // BATCH -; any other command ends the batch), and once the batch
        // ends its bill is paid, one fakelag touch at a time, before the
        // next line.
        if let Some(e) = c.extra.as_deref_mut() {
            if let Some(b) = e.multiline.as_deref_mut().filter(|b| b.is_open()) {
                if (b.free_lines as usize) < free {
                    b.free_lines += 1;
                    return None;
                }
            }
            let owed = e.fakelag_debt > 0;
            while e.fakelag_debt > 0 {
                if let Some(until) = c.fakelag.admit(cfg, now) {
                    return Some(until);
                }
                e.fakelag_debt -= 1;
            }
            if owed {
                c.tidy_extra();
            }
        }
        c.fakelag.admit(cfg, now)
    }

    /// The earliest client deadline, or K-/D-line expiry (for the poll
    /// timeout).
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.timers.next(), self.line_expiry.due]
            .into_iter()
            .flatten()
            .min()
            .map(|t| self.clock.instant(t))
    }

    /// Gives client `id` its next deadline; an earlier entry becomes stale.
    pub fn schedule_deadline(&mut self, id: ClientId, due: Stamp) {
        if let Some(c) = self.clients.get_mut(id) {
            // Stamp(0) means "none": a deadline is always after the epoch.
            let due = due.max(Stamp(1));
            c.timer_due = due;
            self.timers.schedule(due, id, c.serial);
        }
    }

    /// Drops stale deadline entries once they outnumber the live ones.
    pub fn compact_timers(&mut self) {
        if self.timers.wants_compaction(self.clients.len()) {
            let clients = &self.clients;
            self.timers.compact(|when, id, serial| {
                clients
                    .get(id)
                    .is_some_and(|c| Timers::same_serial(serial, c.serial) && c.timer_due == when)
            });
        }
    }

    /// Runs every client deadline due at `now` (and drops lapsed
    /// K-/D-lines when one is due).
    pub fn run_timers(&mut self, now: Instant) {
        xline::expire(self, now);
        let now = self.clock.stamp(now);
        while let Some((when, id, serial)) = self.timers.pop_due(now) {
            let Some(c) = self.clients.get_mut(id) else {
                continue;
            };
            if !Timers::same_serial(serial, c.serial) || c.dead || c.timer_due != when {
                continue;
            }
            c.timer_due = Stamp(0);
            let t = &self.config.timeouts;
            if !c.registered {
                let due = c.connected_at + t.registration;
                if now >= due {
                    self.quit(id, "Registration timed out");
                } else {
                    self.schedule_deadline(id, due);
                }
                continue;
            }
            let enforce = self.enforce_nick(id, now);
            let Some(c) = self.clients.get_mut(id).filter(|c| !c.dead) else {
                continue;
            };
            let t = &self.config.timeouts;
            let idle = now.since(c.last_seen);
            if idle >= t.ping_timeout {
                let secs = t.ping_timeout.as_secs();
                self.quit(id, &format!("Ping timeout: {secs} seconds"));
            } else if idle >= t.ping && !c.ping_sent {
                c.ping_sent = true;
                let due = c.last_seen + t.ping_timeout;
                self.schedule_deadline(id, enforce.map_or(due, |e| e.min(due)));
                let name = self.config.server.name.clone();
                self.send_line(id, None, "PING", &[], Some(&name));
            } else {
                let due = if c.ping_sent {
                    c.last_seen + t.ping_timeout
                } else {
                    c.last_seen + t.ping
                };
                self.schedule_deadline(id, enforce.map_or(due, |e| e.min(due)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookup_ignores_case() {
        assert!(COMMANDS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup("privmsg").map(|s| s.name), Some("PRIVMSG"));
        assert_eq!(lookup("PrivMsg").map(|s| s.name), Some("PRIVMSG"));
        assert!(lookup("NOPE").is_none());
        assert!(lookup("AVERYLONGCOMMANDNAMEINDEED").is_none());
    }
}
