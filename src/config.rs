//! `ircd.conf` (TOML) → plain config structs, with validation.
//!
//! Owns the file format: key names, defaults, duration syntax, relative
//! paths (resolved against the config file's folder), and error messages
//! with file:line:column. Loading reads the MOTD and checks hashes and
//! addresses so that a config that loads is one the server can run.
//! Imports only `limits`; knows nothing of sockets or IRC state.
//!
//! The work is split under `config/`: `raw` (the serde tables), `build`
//! and `opers` (defaults and validation), `values` (string parsers),
//! `motd` (formatting codes), `secret` (the cloak key file), `sts`
//! (`[sts]` and `sts-only` listeners) and `source` (spans → line:column).
//! The shipped `ircd.conf` documents every key.

mod build;
mod defaults;
mod motd;
mod opers;
mod raw;
mod secret;
mod source;
mod sts;
mod tuning;
pub mod values;

pub use opers::SNOMASKS;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from.
    pub path: PathBuf,
    /// Where relative paths of written files (datastore, history, cloak
    /// key) point: `$STATE_DIRECTORY` when systemd sets it, else the
    /// config file's folder.
    pub state_dir: PathBuf,
    pub server: ServerConfig,
    pub listen: Vec<ListenConfig>,
    pub opers: Vec<OperConfig>,
    pub oper_classes: Vec<OperClass>,
    pub limits: LimitsConfig,
    pub timeouts: TimeoutsConfig,
    pub fakelag: FakelagConfig,
    pub cloaks: CloakConfig,
    pub admin: AdminConfig,
    pub datastore: DatastoreConfig,
    pub history: HistoryConfig,
    pub accounts: AccountsConfig,
    pub logging: LoggingConfig,
    pub relaymsg: RelaymsgConfig,
    pub websocket: WebsocketConfig,
    pub sts: StsConfig,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The server's name, the source of server messages.
    pub name: String,
    /// The network name (ISUPPORT NETWORK, RPL_WELCOME).
    pub network: String,
    /// bcrypt hash clients must match with PASS, if any.
    pub password: Option<String>,
    /// The MOTD lines, already read and with `$b`/`$i`/`$c`… formatting
    /// codes applied when `motd_formatting` is on; `None`: no MOTD (422).
    pub motd: Option<Vec<String>>,
    /// Where the MOTD was read from (re-read on rehash).
    pub motd_path: Option<PathBuf>,
    pub motd_formatting: bool,
    /// bcrypt cost for `genpasswd`.
    pub bcrypt_cost: u32,
    /// Peers allowed to send a PROXY protocol header on `proxy = true`
    /// listeners (default: the loopback, 127.0.0.0/8 and ::1).
    pub trusted_proxies: Vec<IpNet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// The TCP address; for a unix-socket listener, 127.0.0.1 port 0 (its
    /// clients count as this machine's).
    pub address: SocketAddr,
    /// A unix domain socket at this path instead of TCP (the `address`
    /// was a path).
    pub unix: Option<PathBuf>,
    /// Its clients come through Tor: they are shown as
    /// `tor-network.onion`, never by address.
    pub tor: bool,
    /// TLS certificate and key, resolved paths (transports issue).
    pub tls: Option<TlsFiles>,
    pub websocket: bool,
    /// Connections start with a PROXY protocol header (v1 or v2), accepted
    /// only from `server.trusted_proxies`.
    pub proxy: bool,
    /// A plaintext listener that only tells clients to use TLS (`[sts]`):
    /// `CAP LS` offers `sts` alone and registering is refused.
    pub sts_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct OperConfig {
    pub name: String,
    pub class: String,
    /// bcrypt hash; `None` for an oper who logs in by certificate alone.
    pub password: Option<String>,
    /// SHA-256 fingerprint of the TLS client certificate (lower-case hex,
    /// no colons) that must be presented; with a password, both must match.
    pub certfp: Option<String>,
    pub whois_line: Option<String>,
    pub vhost: Option<String>,
    pub hidden: bool,
    /// User modes set on OPER (besides +o), e.g. "+w", or "+ws +cko" with
    /// server notice masks for +s (the words after the first are the
    /// arguments of the letters that take one).
    pub modes: String,
}

/// A named set of oper capabilities; `extends` already merged in.
#[derive(Debug, Clone)]
pub struct OperClass {
    pub name: String,
    pub title: String,
    /// Capability names: "kill", "rehash", "wallops", "sajoin", "nofakelag", …
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub max_clients: usize,
    /// Concurrent connections per IP; 0 = unlimited.
    pub per_ip: usize,
    /// New connections per IP per minute; 0 = unlimited.
    pub throttle_per_minute: usize,
    /// Bytes queued to one client before it is disconnected.
    pub sendq: usize,
    /// Flood control on/off (details in `FakelagConfig`).
    pub fakelag: bool,
    /// IPs/CIDRs exempt from per-ip and throttle limits (none by default).
    pub exempt: Vec<IpNet>,
    pub nicklen: usize,
    pub channellen: usize,
    pub topiclen: usize,
    pub awaylen: usize,
    pub kicklen: usize,
    /// Channels one client may be in (CHANLIMIT).
    pub chanlimit: usize,
    /// draft/multiline: the most text one batch may carry (bytes, a line
    /// feed counted for each line joined without `draft/multiline-concat`).
    pub multiline_max_bytes: usize,
    /// draft/multiline: the most lines one batch may carry.
    pub multiline_max_lines: usize,
}

/// An address block, `ip/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// Does `ip` fall inside this block?
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.addr, ip) {
            (V4(a), V4(b)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (V6(a), V6(b)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            (V6(_), V4(b)) => self.contains(std::net::IpAddr::V6(b.to_ipv6_mapped())),
            (V4(_), V6(b)) => b
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(std::net::IpAddr::V4(v4))),
        }
    }
}

/// "10.0.0.0/8", "fd00::/8", or one address ("127.0.0.1" = /32, "::1" =
/// /128); the error is the message `picoircd check` shows.
impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        values::ip_net(text)
    }
}

/// "addr/prefix", for log lines.
impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[derive(Debug, Clone)]
pub struct TimeoutsConfig {
    /// An unregistered client is dropped after this long.
    pub registration: Duration,
    /// A client silent this long is sent a PING.
    pub ping: Duration,
    /// A client silent this long is disconnected ("Ping timeout").
    pub ping_timeout: Duration,
    /// How often TLS certificate files are checked for changes (a renewal
    /// nothing signalled); zero: never.
    pub tls_watch: Duration,
}

#[derive(Debug, Clone)]
pub struct FakelagConfig {
    /// Same as `limits.fakelag`.
    pub enabled: bool,
    pub window: Duration,
    pub burst_limit: u32,
    pub messages_per_window: u32,
    pub cooldown: Duration,
}

#[derive(Debug, Clone)]
pub struct CloakConfig {
    pub enabled: bool,
    /// The suffix of cloaked hosts, e.g. "irc" → `abcdefghijklm.irc`.
    pub netname: String,
    /// The HMAC key (from `secret`, or read/created at `secret-file`).
    pub secret: Vec<u8>,
    pub cidr_len_ipv4: u8,
    pub cidr_len_ipv6: u8,
    pub num_bits: u32,
}

#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    pub location1: String,
    pub location2: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct DatastoreConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct HistoryConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct AccountsConfig {
    pub registration: bool,
    /// What happens to a client on a registered nick it is not logged in
    /// to (an account's `NS SET ENFORCE default`).
    pub enforcement: NickEnforcement,
    /// With `NickEnforcement::Timeout`: how long it has to log in.
    pub enforcement_grace: Duration,
    /// Nicks one account may hold, its name included (NS GROUP).
    pub max_nicks: usize,
    /// PBKDF2 iterations of new SCRAM-SHA-256 credentials.
    pub scram_iterations: u32,
    /// draft/account-registration: REGISTERs per minute from one address
    /// (IPv4, or IPv6 /64); 0 = no limit.
    pub registrations_per_minute: u32,
}

/// The server's nick reservation method, Ergo's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickEnforcement {
    /// Anyone may use a registered nick.
    None,
    /// Only the account's owner may take it (NICK is refused).
    Strict,
    /// Anyone may take it, but is renamed to Guest<N> unless logged in to
    /// the account within the grace period.
    Timeout,
}

impl NickEnforcement {
    pub fn name(self) -> &'static str {
        match self {
            NickEnforcement::None => "none",
            NickEnforcement::Strict => "strict",
            NickEnforcement::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoggingConfig {
    /// "error", "warn", "info", "debug".
    pub level: String,
}

/// `[relaymsg]`: RELAYMSG (`draft/relaymsg`), for bridges that post as
/// spoofed nicks.
#[derive(Debug, Clone)]
pub struct RelaymsgConfig {
    /// A relayed nick must contain one of these characters, which no
    /// real nick can hold; also the capability's `CAP LS 302` value.
    pub separators: String,
    /// Channel operators may relay into their channels (opers whose class
    /// has the `relaymsg` capability always may).
    pub available_to_chanops: bool,
}

/// `[websocket]`: the WebSocket listeners' rules.
#[derive(Debug, Clone, Default)]
pub struct WebsocketConfig {
    /// The web pages (their `Origin`, globs allowed) whose scripts may
    /// connect; empty: any. A browser always sends its page's origin.
    pub allowed_origins: Vec<String>,
}

/// `[sts]`: IRCv3 Strict Transport Security, the `sts` capability that
/// tells clients to reconnect over TLS and to keep to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsConfig {
    /// Advertise the policy (`sts` in `CAP LS`).
    pub enabled: bool,
    /// The TLS port plaintext clients are sent to (`port=`); always set
    /// when `enabled`, and then the port of a `tls` listener.
    pub port: Option<u16>,
    /// How long clients must keep to TLS once they have seen the policy
    /// over TLS (`duration=`, whole seconds; zero withdraws the policy).
    pub duration: Duration,
    /// The network agrees to be put in clients' preload lists (`preload`).
    pub preload: bool,
    /// The ports of the `sts-only` listeners, gathered from `[[listen]]`
    /// once at load so that a client's listener is found by its local
    /// port with a scan of a few entries.
    pub only_ports: Vec<u16>,
}

impl StsConfig {
    /// Is `port` (a client's local port) an `sts-only` listener's?
    pub fn is_sts_only(&self, port: u16) -> bool {
        self.only_ports.contains(&port)
    }
}

/// A config error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the error is not about one place (e.g. unreadable file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads, parses and validates `path`; reads the MOTD it names and
    /// the cloak key, creating the key file if it does not exist yet.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_file(path, true)
    }

    /// Like `load` but creates no file: when the cloak key file does not
    /// exist yet, `cloaks.secret` is left empty (`picoircd check`, `mkcerts`).
    pub fn load_readonly(path: &Path) -> Result<Config, ConfigError> {
        Self::load_file(path, false)
    }

    /// Parses `text` as if read from `path`: relative paths are resolved
    /// against `path`'s folder and errors name `path`. Creates the cloak
    /// key file like `load`.
    pub fn load_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Self::parse(text, path, true)
    }

    fn load_file(path: &Path, create_files: bool) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Self::parse(&text, path, create_files)
    }

    fn parse(text: &str, path: &Path, create_files: bool) -> Result<Config, ConfigError> {
        let src = source::Source { file: path, text };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
        // "ircd.conf" has the parent "": paths then stay relative to the
        // working directory, as written.
        let base = path.parent().unwrap_or(Path::new(""));
        let state = state_directory();
        let ctx = build::Ctx {
            src,
            base,
            state: state.as_deref().unwrap_or(base),
            create_files,
        };
        build::config(&ctx, raw)
    }

    /// The oper class named `name`.
    pub fn oper_class(&self, name: &str) -> Option<&OperClass> {
        self.oper_classes.iter().find(|c| c.name == name)
    }
}

/// The state folder systemd made for the service (`StateDirectory=`):
/// the first entry of `$STATE_DIRECTORY`, a colon-separated list.
fn state_directory() -> Option<PathBuf> {
    let value = std::env::var_os("STATE_DIRECTORY")?;
    let value = value.to_str()?;
    let first = value.split(':').next()?;
    (!first.is_empty()).then(|| PathBuf::from(first))
}
