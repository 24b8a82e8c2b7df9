//! The command line: one subcommand per scenario, each with the server
//! to load (`--addr`, `--pid`, `--server`) and its own sizes.
//!
//! Declarations only (argh); the scenarios read these structs.

use std::net::SocketAddr;
use std::path::PathBuf;

use argh::FromArgs;

/// picoircd-bench: load an IRC server on this machine and measure it
/// (issue #4). Each scenario prints one JSON object on stdout and a
/// summary on stderr. Works with any RFC 1459 server.
#[derive(FromArgs, Debug)]
pub struct Args {
    #[argh(subcommand)]
    pub scenario: Scenario,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Scenario {
    Idle(Idle),
    Fanout(Fanout),
    Pairs(Pairs),
    Storm(Storm),
    Accounts(Accounts),
    History(History),
    Summarize(Summarize),
}

/// The server under test: where it listens, its process, its name.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub pid: u32,
    pub server: String,
}

/// N clients register and join C channels: RSS per client, CPU per
/// 1,000 registrations and per 1,000 JOINs.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "idle")]
pub struct Idle {
    /// server address (loopback), e.g. 127.0.0.1:16667
    #[argh(option)]
    pub addr: SocketAddr,
    /// the server's process id (for /proc)
    #[argh(option)]
    pub pid: u32,
    /// the server's name in the output
    #[argh(option, default = "String::from(\"server\")")]
    pub server: String,
    /// clients (default 10000)
    #[argh(option, default = "10_000")]
    pub clients: usize,
    /// channels; client i joins channel i mod C (default 100)
    #[argh(option, default = "100")]
    pub channels: usize,
    /// registrations or JOINs in progress at once, new connections paced
    /// at 32 per turn (default 1000)
    #[argh(option, default = "1000")]
    pub concurrency: usize,
    /// how long the idle server settles before its RSS is read, ms (default 1000)
    #[argh(option, default = "1000")]
    pub settle_ms: u64,
    /// the longest any phase may take, s (default 300)
    #[argh(option, default = "300")]
    pub timeout: u64,
}

/// M members in one channel, S of them sending PRIVMSGs with a window of
/// W in flight each: delivered lines/s, latency, CPU per million lines,
/// and the CPU of the JOIN and QUIT fan-out per delivered line. With
/// `--caps mixed` the members first request IRCv3 capabilities in four
/// groups, so a server writes up to four forms of each message, and every
/// line is checked to carry the tags its receiver's capabilities imply.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "fanout")]
pub struct Fanout {
    /// server address (loopback), e.g. 127.0.0.1:16667
    #[argh(option)]
    pub addr: SocketAddr,
    /// the server's process id (for /proc)
    #[argh(option)]
    pub pid: u32,
    /// the server's name in the output
    #[argh(option, default = "String::from(\"server\")")]
    pub server: String,
    /// channel members, senders included (default 500)
    #[argh(option, default = "500")]
    pub members: usize,
    /// senders (default 5)
    #[argh(option, default = "5")]
    pub senders: usize,
    /// messages in flight per sender: sent, not yet read by every member (default 10)
    #[argh(option, default = "10")]
    pub window: usize,
    /// how long senders send, s (default 5)
    #[argh(option, default = "5.0")]
    pub seconds: f64,
    /// bytes of message text (default 64)
    #[argh(option, default = "64")]
    pub payload: usize,
    /// IRCv3 capabilities the members request before registering: none
    /// (default), or mixed (senders: message-tags server-time
    /// echo-message; receivers a quarter each: none, message-tags,
    /// server-time, message-tags server-time)
    #[argh(option, default = "CapMix::None")]
    pub caps: CapMix,
    /// registrations or JOINs in progress at once, new connections paced
    /// at 32 per turn (default 1000)
    #[argh(option, default = "1000")]
    pub concurrency: usize,
    /// the longest any phase may take, s (default 300)
    #[argh(option, default = "300")]
    pub timeout: u64,
}

/// The capabilities the members of `fanout` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapMix {
    /// No CAP at all: plain RFC 1459 clients.
    None,
    /// Four receiver groups and IRCv3 senders (see `Fanout::caps`).
    Mixed,
}

impl CapMix {
    pub fn name(self) -> &'static str {
        match self {
            CapMix::None => "none",
            CapMix::Mixed => "mixed",
        }
    }
}

impl std::str::FromStr for CapMix {
    type Err = String;

    fn from_str(s: &str) -> Result<CapMix, String> {
        match s {
            "none" => Ok(CapMix::None),
            "mixed" => Ok(CapMix::Mixed),
            _ => Err(format!("--caps: expected none or mixed, not {s:?}")),
        }
    }
}

/// K pairs of clients exchanging private messages, W in flight each way:
/// messages/s, latency, CPU per million messages.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "pairs")]
pub struct Pairs {
    /// server address (loopback), e.g. 127.0.0.1:16667
    #[argh(option)]
    pub addr: SocketAddr,
    /// the server's process id (for /proc)
    #[argh(option)]
    pub pid: u32,
    /// the server's name in the output
    #[argh(option, default = "String::from(\"server\")")]
    pub server: String,
    /// pairs (default 100)
    #[argh(option, default = "100")]
    pub pairs: usize,
    /// registrations in progress at once, new connections paced at 32 per
    /// turn (default 1000)
    #[argh(option, default = "1000")]
    pub concurrency: usize,
    /// messages in flight per client (default 4)
    #[argh(option, default = "4")]
    pub window: usize,
    /// how long clients send, s (default 5)
    #[argh(option, default = "5.0")]
    pub seconds: f64,
    /// bytes of message text (default 64)
    #[argh(option, default = "64")]
    pub payload: usize,
    /// the longest any phase may take, s (default 300)
    #[argh(option, default = "300")]
    pub timeout: u64,
}

/// N clients connect and register as fast as the server takes them, then
/// QUIT: registrations/s and CPU per registration.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "storm")]
pub struct Storm {
    /// server address (loopback), e.g. 127.0.0.1:16667
    #[argh(option)]
    pub addr: SocketAddr,
    /// the server's process id (for /proc)
    #[argh(option)]
    pub pid: u32,
    /// the server's name in the output
    #[argh(option, default = "String::from(\"server\")")]
    pub server: String,
    /// clients, one after another (default 5000)
    #[argh(option, default = "5000")]
    pub clients: usize,
    /// connections in progress at once, new ones paced at 32 per turn
    /// (default 1000)
    #[argh(option, default = "1000")]
    pub concurrency: usize,
    /// the longest the storm may take, s (default 300)
    #[argh(option, default = "300")]
    pub timeout: u64,
}

/// N accounts registered through NickServ (`NS REGISTER` from C
/// connections, each looping LOGOUT, NICK, REGISTER), then N/10 logins
/// (`NS IDENTIFY` on fresh connections), while a probe connection sends
/// a PING every few ms: registrations/s, server CPU per 1,000
/// registrations (per thread: loop, worker, store), and the probe's round
/// trip (the loop's stalls) before, during the burst and during the logins.
/// For servers with a NickServ that answers as Ergo's does (picoircd).
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "accounts")]
pub struct Accounts {
    /// server address (loopback), e.g. 127.0.0.1:16667
    #[argh(option)]
    pub addr: SocketAddr,
    /// the server's process id (for /proc)
    #[argh(option)]
    pub pid: u32,
    /// the server's name in the output
    #[argh(option, default = "String::from(\"server\")")]
    pub server: String,
    /// accounts to register (default 10000)
    #[argh(option, default = "10_000")]
    pub accounts: usize,
    /// connections registering at once, each with one REGISTER in flight;
    /// also the logins in progress at once (default 100)
    #[argh(option, default = "100")]
    pub concurrency: usize,
    /// NS IDENTIFY logins on fresh connections after the burst (default:
    /// a tenth of --accounts)
    #[argh(option)]
    pub logins: Option<usize>,
    /// the probe's PING period, ms (default 5)
    #[argh(option, default = "5")]
    pub probe_ms: u64,
    /// how long the probe runs alone before the burst (its baseline), ms
    /// (default 1000)
    #[argh(option, default = "1000")]
    pub baseline_ms: u64,
    /// the accounts' names are this and a number (default: "a", the
    /// generator's pid and "x", so a second run on the same server
    /// registers new names)
    #[argh(option)]
    pub prefix: Option<String>,
    /// the longest any phase may take, s (default 300)
    #[argh(option, default = "300")]
    pub timeout: u64,
}

/// CHATHISTORY lookups during fan-out: not yet (the history issue, #8,
/// has not landed); exits 2 with a note.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "history")]
pub struct History {}

/// Medians of the runs scripts/bench collected (RUNS/<case>/<server>-<round>.json):
/// writes results.json and results.md into --out.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "summarize")]
pub struct Summarize {
    /// the folder of runs
    #[argh(option)]
    pub runs: PathBuf,
    /// a JSON object with date, machine and versions for the header
    #[argh(option)]
    pub meta: Option<PathBuf>,
    /// where results.json and results.md go
    #[argh(option)]
    pub out: PathBuf,
}

macro_rules! target_of {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn target(&self) -> Target {
                Target { addr: self.addr, pid: self.pid, server: self.server.clone() }
            }
        }
    )*};
}
target_of!(Idle, Fanout, Pairs, Storm, Accounts);
