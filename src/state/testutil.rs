//! A test harness for the state layer: a `State` on a fixed config, clients
//! fed scripted lines, output read back as text. No sockets. Used by the
//! unit tests of every handler module.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::channel::Channel;
use super::client::ChanId;
use super::{ClientId, Purpose, State};
use crate::config::*;
use crate::proto::casemap;

/// The config the harness runs on: Ergo-like defaults, fakelag off.
pub fn config() -> Config {
    Config {
        path: PathBuf::from("test.conf"),
        state_dir: PathBuf::from("."),
        server: ServerConfig {
            name: "pico.test".into(),
            network: "PicoNet".into(),
            password: None,
            motd: Some(vec!["hello".into()]),
            motd_path: None,
            motd_formatting: true,
            bcrypt_cost: 4,
            trusted_proxies: vec![],
        },
        listen: vec![],
        opers: vec![OperConfig {
            name: "admin".into(),
            class: "server-admin".into(),
            // bcrypt("changeme", cost 4)
            password: Some(bcrypt::hash("changeme", 4).expect("bcrypt")),
            certfp: None,
            whois_line: Some("is a server admin".into()),
            vhost: Some("staff".into()),
            hidden: false,
            modes: String::new(),
        }],
        oper_classes: vec![OperClass {
            name: "server-admin".into(),
            title: "Server Admin".into(),
            capabilities: ["kill", "rehash", "wallops", "nofakelag", "samode", "sajoin"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }],
        limits: LimitsConfig {
            max_clients: 100,
            per_ip: 0,
            throttle_per_minute: 0,
            sendq: 98304,
            fakelag: false,
            exempt: vec![],
            nicklen: 32,
            channellen: 64,
            topiclen: 390,
            awaylen: 390,
            kicklen: 390,
            chanlimit: 100,
            multiline_max_bytes: 4096,
            multiline_max_lines: 100,
        },
        timeouts: TimeoutsConfig {
            registration: Duration::from_secs(60),
            ping: Duration::from_secs(90),
            ping_timeout: Duration::from_secs(150),
            tls_watch: Duration::from_secs(60),
        },
        fakelag: FakelagConfig {
            enabled: false,
            window: Duration::from_secs(1),
            burst_limit: 5,
            messages_per_window: 2,
            cooldown: Duration::from_secs(2),
        },
        cloaks: CloakConfig {
            enabled: true,
            netname: "irc".into(),
            secret: b"test".to_vec(),
            cidr_len_ipv4: 32,
            cidr_len_ipv6: 64,
            num_bits: 64,
        },
        admin: AdminConfig::default(),
        datastore: DatastoreConfig {
            path: "ircd.db".into(),
        },
        history: HistoryConfig {
            path: "history".into(),
        },
        accounts: AccountsConfig {
            registration: true,
            enforcement: NickEnforcement::Timeout,
            enforcement_grace: Duration::from_secs(30),
            max_nicks: 8,
            scram_iterations: 4096,
            registrations_per_minute: 5,
        },
        logging: LoggingConfig {
            level: "info".into(),
        },
        websocket: Default::default(),
        relaymsg: RelaymsgConfig {
            separators: "/".into(),
            available_to_chanops: true,
        },
        sts: StsConfig {
            enabled: false,
            port: None,
            duration: Duration::ZERO,
            preload: false,
            only_ports: vec![],
        },
    }
}

/// A state plus a clock.
pub struct Harness {
    pub s: State,
    pub now: Instant,
    next_ip: u8,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Self::with_config(config())
    }

    pub fn with_config(cfg: Config) -> Harness {
        let now = Instant::now();
        Harness {
            s: State::new(cfg, now, 1_700_000_000_000),
            now,
            next_ip: 1,
        }
    }

    /// A new unregistered connection.
    pub fn connect(&mut self) -> ClientId {
        let ip: IpAddr = format!("127.0.0.{}", self.next_ip).parse().expect("ip");
        self.next_ip = self.next_ip.wrapping_add(1);
        self.s.add_client(ip, 6667, false, self.now)
    }

    /// A registered client named `nick`, its welcome burst discarded.
    pub fn client(&mut self, nick: &str) -> ClientId {
        let id = self.connect();
        self.line(id, &format!("NICK {nick}"));
        self.line(id, &format!("USER {nick} 0 * :{nick} real"));
        assert!(self.s.clients[id].registered, "{nick} registered");
        self.take(id);
        id
    }

    /// Feeds one line and runs any worker jobs it queued, synchronously.
    pub fn line(&mut self, id: ClientId, line: &str) {
        self.s.handle_line(id, line.as_bytes(), self.now);
        self.run_jobs();
    }

    /// Runs queued bcrypt jobs as the worker thread would.
    pub fn run_jobs(&mut self) {
        for job in std::mem::take(&mut self.s.jobs) {
            let d = job.run();
            self.s.job_done(d, Instant::now());
        }
    }

    /// Drains and returns a client's output, one string per line, CR LF cut.
    pub fn take(&mut self, id: ClientId) -> Vec<String> {
        let Some(c) = self.s.clients.get_mut(id) else {
            return vec![];
        };
        let mut slices = Vec::new();
        c.sendq.slices(&mut slices, usize::MAX);
        let bytes: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
        c.sendq.consume(bytes.len());
        String::from_utf8_lossy(&bytes)
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// Puts `id` on channel `name` with `prefix_bits`, creating it (JOIN
    /// is another module's work; this keeps those tests independent of it).
    pub fn put_in(&mut self, id: ClientId, name: &str, prefix_bits: u8) -> ChanId {
        let s = &mut self.s;
        let chan = match s.find_channel(name) {
            Some(c) => c,
            None => {
                let c = s.channels.insert(Channel::new(name.to_string(), 0));
                s.channel_names.insert(casemap::fold(name), c);
                c
            }
        };
        s.channels[chan].add(id, prefix_bits);
        s.clients[id].add_channel(chan);
        chan
    }

    /// Opers `id` up with the harness config's `admin` block.
    pub fn make_oper(&mut self, id: ClientId) {
        self.line(id, "OPER admin changeme");
        assert!(self.s.clients[id].is_oper());
        self.take(id);
    }

    /// Advances the clock and runs due timers.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.run_timers(self.now);
    }

    /// Is `purpose` the server password (for pattern tests)?
    pub fn is_server_pass(p: &Purpose) -> bool {
        *p == Purpose::ServerPass
    }
}

/// Asserts that some line of `lines` contains `needle`.
#[track_caller]
pub fn assert_has(lines: &[String], needle: &str) {
    assert!(
        lines.iter().any(|l| l.contains(needle)),
        "no line contains {needle:?} in:\n{}",
        lines.join("\n")
    );
}

/// Asserts that no line of `lines` contains `needle`.
#[track_caller]
pub fn assert_lacks(lines: &[String], needle: &str) {
    assert!(
        !lines.iter().any(|l| l.contains(needle)),
        "a line contains {needle:?} in:\n{}",
        lines.join("\n")
    );
}
