//! The in-server services, NickServ and ChanServ, as Ergo has them: no
//! real clients, just a nick that `PRIVMSG` and the `NS`/`NICKSERV`/`CS`/
//! `CHANSERV` commands reach, answering with NOTICEs from
//! `NickServ!NickServ@localhost`. Here: the service table, the routing of a
//! line to a service command (parameter checks, oper capability, login),
//! HELP and CTCP, and the reserved nicks. The commands themselves live in
//! `nickserv` and `chanserv`.
//!
//! Wording follows Ergo's (irc/services.go), since bots and scripts parse
//! it. Imports `state` only; no I/O.

pub mod chanserv;
pub mod nickserv;

use std::time::Instant;

use super::error::CmdResult;
use super::{ClientId, State};
use crate::config::Config;
use crate::proto::{casemap, Message};

/// A command of a service: `/msg NickServ <name> <params>`.
pub struct Command {
    pub name: &'static str,
    /// Runs another command of the table (e.g. PASSWORD for PASSWD).
    pub alias_of: Option<&'static str>,
    pub handler: Handler,
    /// The syntax and explanation shown by `HELP <name>` (`\x02` bold).
    pub help: &'static str,
    /// The one line shown in the HELP list.
    pub help_short: &'static str,
    pub min_params: usize,
    /// More parameters than this is an error (0: no maximum).
    pub max_params: usize,
    /// Only for clients logged in to an account.
    pub auth_required: bool,
    /// An oper capability the client needs ("accreg", "chanreg"...).
    pub capab: Option<&'static str>,
    /// Left out of the HELP list.
    pub hidden: bool,
    /// Whether the server's configuration enables it.
    pub enabled: fn(&Config) -> bool,
}

/// What a service command does: the client, its words after the command
/// name, the time.
pub type Handler = fn(&mut State, ClientId, &'static Service, &[&str], Instant);

/// A service: its nick, the IRC commands that reach it, its commands.
pub struct Service {
    pub name: &'static str,
    /// The short command shown in hints ("NS").
    pub short: &'static str,
    /// IRC commands that address it directly (`NS REGISTER ...`).
    pub aliases: &'static [&'static str],
    /// The first lines of HELP.
    pub banner: &'static str,
    pub commands: &'static [Command],
}

/// Always enabled (the `enabled` of most commands).
pub fn always(_: &Config) -> bool {
    true
}

/// Every service.
pub static SERVICES: [&Service; 2] = [&nickserv::NICKSERV, &chanserv::CHANSERV];

/// The host of every service's prefix, as Ergo's.
pub const HOST: &str = "localhost";

/// The service whose nick is `nick` (any case).
pub fn by_nick(nick: &str) -> Option<&'static Service> {
    // `NickServ@server` also reaches it (RFC 2812's user@server target).
    let nick = nick.split('@').next().unwrap_or(nick);
    SERVICES
        .iter()
        .copied()
        .find(|s| s.name.eq_ignore_ascii_case(nick))
}

/// The service an IRC command (`NS`, `NICKSERV`, `CS`, `CHANSERV`) reaches.
pub fn by_alias(command: &str) -> Option<&'static Service> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.aliases.iter().any(|a| a.eq_ignore_ascii_case(command)))
}

/// Is `folded` (a casefolded nick) a service's nick, which no client may take?
pub fn is_reserved(folded: &str) -> bool {
    SERVICES.iter().any(|s| casemap::fold(s.name) == folded)
}

impl Service {
    /// `NickServ!NickServ@localhost`.
    pub fn prefix(&self) -> String {
        format!("{0}!{0}@{HOST}", self.name)
    }

    /// The command called `name` (any case), aliases followed once.
    pub fn command(&self, name: &str) -> Option<&'static Command> {
        let find = |n: &str| {
            self.commands
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(n))
        };
        let cmd = find(name)?;
        match cmd.alias_of {
            Some(target) => find(target),
            None => Some(cmd),
        }
    }
}

/// Sends `text` to `id` as a NOTICE from the service.
pub fn notice(s: &mut State, id: ClientId, svc: &Service, text: &str) {
    let nick = s.clients[id].nick().to_owned();
    let prefix = svc.prefix();
    s.send_line(id, Some(&prefix), "NOTICE", &[&nick], Some(text));
}

/// `PRIVMSG <service> :<text>`: a CTCP request, or a command.
pub fn privmsg(s: &mut State, id: ClientId, svc: &'static Service, text: &str, now: Instant) {
    if let Some(ctcp) = text.strip_prefix('\x01') {
        return reply_ctcp(s, id, svc, ctcp.trim_end_matches('\x01'));
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if let Some((name, params)) = words.split_first() {
        run(s, id, svc, name, params, now);
    }
}

/// The `NS`, `NICKSERV`, `CS` and `CHANSERV` commands of the command table.
pub fn irc_command(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    if let Some(svc) = by_alias(m.command) {
        command(s, id, svc, &m.params, now);
    }
    Ok(())
}

/// `NS <command> <params>...` (the IRC command addressing a service).
pub fn command(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], now: Instant) {
    // A client may send the whole text as one trailing parameter
    // (`NS :REGISTER pw`): split it into words as a PRIVMSG would be.
    let words: Vec<&str> = params.iter().flat_map(|p| p.split_whitespace()).collect();
    match words.split_first() {
        Some((name, rest)) => run(s, id, svc, name, rest, now),
        None => run(s, id, svc, "HELP", &[], now),
    }
}

/// Runs one service command after the shared checks, in Ergo's order.
fn run(
    s: &mut State,
    id: ClientId,
    svc: &'static Service,
    name: &str,
    params: &[&str],
    now: Instant,
) {
    if name.eq_ignore_ascii_case("HELP") {
        return help(s, id, svc, params.first().copied());
    }
    let Some(cmd) = svc.command(name) else {
        let text = format!(
            "Unknown command. To see available commands, run: /{} HELP",
            svc.short
        );
        return notice(s, id, svc, &text);
    };
    if params.len() < cmd.min_params || (cmd.max_params > 0 && params.len() > cmd.max_params) {
        let text = format!(
            "Invalid parameters. For usage, do /msg {} HELP {}",
            svc.name,
            name.to_ascii_uppercase()
        );
        return notice(s, id, svc, &text);
    }
    if !(cmd.enabled)(&s.config) {
        return notice(
            s,
            id,
            svc,
            "This command has been disabled by the server administrators",
        );
    }
    if let Some(capab) = cmd.capab {
        if !s.clients[id].has_oper_cap(capab) {
            return notice(s, id, svc, "Command restricted");
        }
    }
    if cmd.auth_required && s.clients[id].account().is_none() {
        return notice(s, id, svc, "You're not logged into an account");
    }
    (cmd.handler)(s, id, svc, params, now);
}

/// `HELP [command]`.
fn help(s: &mut State, id: ClientId, svc: &Service, topic: Option<&str>) {
    notice(s, id, svc, &format!("*** \x02{} HELP\x02 ***", svc.name));
    match topic {
        None => {
            let mut lines: Vec<String> = svc.banner.lines().map(str::to_owned).collect();
            lines.extend([
                String::new(),
                "To see in-depth help for a specific command, try:".into(),
                format!("    \x02/msg {} HELP <command>\x02", svc.name),
                String::new(),
                "Here are the commands you can use:".into(),
            ]);
            let client = &s.clients[id];
            let mut shown: Vec<String> = Vec::new();
            let mut disabled = false;
            for cmd in svc.commands {
                if cmd.alias_of.is_some() || cmd.hidden {
                    continue;
                }
                if cmd.capab.is_some_and(|c| !client.has_oper_cap(c)) {
                    continue;
                }
                if !(cmd.enabled)(&s.config) {
                    disabled = true;
                    continue;
                }
                shown.push(format!("    {}", cmd.help_short));
            }
            shown.sort();
            if disabled {
                shown.push("    ... and other commands which have been disabled".into());
            }
            for line in lines.iter().chain(&shown) {
                notice(s, id, svc, line);
            }
        }
        Some(name) => match svc.command(name) {
            None => {
                let text = format!(
                    "Unknown command. To see available commands, run /{} HELP",
                    svc.short
                );
                notice(s, id, svc, &text);
            }
            Some(cmd) => {
                for line in cmd.help.lines() {
                    notice(s, id, svc, line);
                }
            }
        },
    }
    notice(
        s,
        id,
        svc,
        &format!("*** \x02End of {} HELP\x02 ***", svc.name),
    );
}

/// CTCP VERSION, PING and TIME to a service, answered as Ergo's.
fn reply_ctcp(s: &mut State, id: ClientId, svc: &Service, ctcp: &str) {
    let (verb, arg) = ctcp.split_once(' ').unwrap_or((ctcp, ""));
    let verb = verb.to_ascii_uppercase();
    let out = match verb.as_str() {
        "VERSION" => format!("{} (picoircd-{})", svc.name, env!("CARGO_PKG_VERSION")),
        "PING" if !arg.is_empty() => arg.to_owned(),
        "TIME" => crate::time::rfc1123(s.now_secs()),
        _ => return,
    };
    notice(s, id, svc, &format!("\x01{verb} {out}\x01"));
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}
