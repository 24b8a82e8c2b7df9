//! ChanServ: registering a channel and keeping its founder, access list,
//! modes, topic and bans across restarts. Replies in Ergo's words
//! (irc/chanserv.go). Imports `state` (accounts, channels, services) and
//! `store` (the channel record).

use super::Service;

pub static CHANSERV: Service = Service {
    name: "ChanServ",
    short: "CS",
    aliases: &["CHANSERV", "CS"],
    banner: "ChanServ lets you register and manage channels.",
    commands: &[],
};
