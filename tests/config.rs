//! `Config::load`: the shipped ircd.conf, defaults, every kind of error with
//! its exact `file:line:column`, durations, relative paths, the MOTD codes,
//! the cloak key file and oper classes. Each test works in its own folder
//! under the system temp dir.

mod util;

use std::fs;
use std::path::Path;
use std::time::Duration;

use picoircd::config::{Config, ConfigError, IpNet, StsConfig, TlsFiles};
use util::TempDir;

/// The smallest valid config. Line 6 is the listen address; what a test
/// appends starts on line 7.
const MIN: &str = r#"[server]
name = "pico.test"
network = "PicoNet"

[[listen]]
address = "127.0.0.1:6667"
"#;

/// A hash of "allmine" made by Go's golang.org/x/crypto/bcrypt, the library
/// Ergo's genpasswd uses: the known vector of its TestBcryptingIsCorrect.
const GO_HASH: &str = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";

fn temp_dir(name: &str) -> TempDir {
    util::temp_dir("config", name)
}

/// Writes `text` as `ircd.conf` in a fresh folder and loads it.
fn load_in(name: &str, text: &str) -> (TempDir, Result<Config, ConfigError>) {
    let dir = temp_dir(name);
    let path = dir.join("ircd.conf");
    fs::write(&path, text).unwrap();
    let result = Config::load(&path);
    (dir, result)
}

fn load(text: &str) -> Config {
    match load_in("ok", text).1 {
        Ok(c) => c,
        Err(e) => panic!("config should load, got: {e}"),
    }
}

/// The error as displayed, with the temp folder cut off: `ircd.conf:L:C: message`.
fn fail(text: &str) -> String {
    let (dir, result) = load_in("err", text);
    let e = result.expect_err("config should not load");
    let shown = e.to_string();
    let prefix = format!("{}/", dir.display());
    shown
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("error should name the file: {shown}"))
        .to_string()
}

fn assert_error(text: &str, at: &str, message_part: &str) {
    let shown = fail(text);
    assert!(
        shown.starts_with(&format!("{at}: ")),
        "expected an error at {at}, got: {shown}"
    );
    assert!(
        shown.contains(message_part),
        "expected `{message_part}` in: {shown}"
    );
}

fn with(extra: &str) -> String {
    format!("{MIN}{extra}")
}

// ---------------------------------------------------------------------------
// The shipped file.

/// Copies the shipped ircd.conf and ircd.motd into a fresh folder (so the
/// cloak key made on load does not land in the repository), with `edit`
/// applied to the config text.
fn shipped(edit: impl Fn(String) -> String) -> (TempDir, Result<Config, ConfigError>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = fs::read_to_string(root.join("ircd.conf")).unwrap();
    let dir = temp_dir("shipped");
    fs::copy(root.join("ircd.motd"), dir.join("ircd.motd")).unwrap();
    let path = dir.join("ircd.conf");
    fs::write(&path, edit(text)).unwrap();
    let result = Config::load(&path);
    (dir, result)
}

#[test]
fn shipped_config_loads() {
    let (dir, result) = shipped(|t| t);
    let c = result.unwrap_or_else(|e| panic!("shipped ircd.conf: {e}"));
    assert_eq!(c.server.name, "pico.test");
    assert_eq!(c.server.network, "PicoNet");
    assert_eq!(c.server.password, None);
    assert_eq!(c.server.motd_path, Some(dir.join("ircd.motd")));
    let motd = c.server.motd.as_ref().unwrap();
    assert!(
        motd[0].starts_with("\x02Welcome to \x0312PicoNet\x0f\x02"),
        "{:?}",
        motd[0]
    );
    // Plaintext on the loopback; TLS on 6697 and WebSocket over TLS on
    // 8097, on every interface, sharing one pair beside the config.
    let shown: Vec<(String, bool, bool)> = c
        .listen
        .iter()
        .map(|l| (l.address.to_string(), l.tls.is_some(), l.websocket))
        .collect();
    assert_eq!(
        shown,
        [
            ("127.0.0.1:6667".to_string(), false, false),
            ("0.0.0.0:6697".to_string(), true, false),
            ("0.0.0.0:8097".to_string(), true, true),
        ]
    );
    let pair = c.listen[1].tls.clone().unwrap();
    assert_eq!(pair.cert, dir.join("tls/fullchain.pem"));
    assert_eq!(pair.key, dir.join("tls/privkey.pem"));
    assert_eq!(c.listen[2].tls, Some(pair));
    assert!(c.listen.iter().all(|l| !l.proxy && !l.tor && !l.sts_only));
    // The admin oper, with the documented "changeme" password.
    assert_eq!(c.opers.len(), 1);
    let admin = &c.opers[0];
    assert_eq!(
        (admin.name.as_str(), admin.class.as_str()),
        ("admin", "server-admin")
    );
    let password = admin.password.as_deref().expect("a password");
    assert_eq!(password, picoircd::cli::check::SHIPPED_OPER_HASH);
    assert!(password.starts_with("$2a$12$"));
    assert!(bcrypt::verify("changeme", password).unwrap());
    assert_eq!(admin.certfp, None);
    assert_eq!(admin.whois_line.as_deref(), Some("is a server admin"));
    assert_eq!(admin.vhost.as_deref(), Some("staff"));
    assert!(!admin.hidden);
    // Ergo's two classes, server-admin extending chat-moderator.
    let names: Vec<&str> = c.oper_classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["chat-moderator", "server-admin"]);
    let moderator = c.oper_class("chat-moderator").unwrap();
    let admin_class = c.oper_class("server-admin").unwrap();
    assert_eq!(admin_class.title, "Server Admin");
    for cap in &moderator.capabilities {
        assert!(admin_class.capabilities.contains(cap), "{cap}");
    }
    assert!(admin_class.capabilities.iter().any(|c| c == "rehash"));
    assert!(!moderator.capabilities.iter().any(|c| c == "rehash"));
    // The cloak key file was made next to the config.
    assert_eq!(c.cloaks.secret.len(), 64);
    assert!(dir.join("cloak.key").exists());
}

#[test]
fn shipped_values_are_the_compiled_defaults() {
    let (_, result) = shipped(|t| t);
    let shipped = result.unwrap();
    let dir = temp_dir("defaults-compare");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ircd.motd"),
        dir.join("ircd.motd"),
    )
    .unwrap();
    let mut defaults = Config::load_str(MIN, &dir.join("ircd.conf")).unwrap();
    // The secret is random per folder; everything else must match.
    defaults.cloaks.secret = shipped.cloaks.secret.clone();
    let strip = |s: String| s.replace(&dir.display().to_string(), "DIR");
    let shipped_dir = shipped.path.parent().unwrap().display().to_string();
    let show = |x: &dyn std::fmt::Debug| format!("{x:?}");
    for (a, b) in [
        (show(&shipped.limits), show(&defaults.limits)),
        (show(&shipped.timeouts), show(&defaults.timeouts)),
        (show(&shipped.fakelag), show(&defaults.fakelag)),
        (show(&shipped.cloaks), show(&defaults.cloaks)),
        (show(&shipped.admin), show(&defaults.admin)),
        (show(&shipped.accounts), show(&defaults.accounts)),
        (show(&shipped.logging), show(&defaults.logging)),
        (show(&shipped.datastore), show(&defaults.datastore)),
        (show(&shipped.history), show(&defaults.history)),
        (show(&shipped.relaymsg), show(&defaults.relaymsg)),
        (
            show(&(
                shipped.server.motd_formatting,
                shipped.server.bcrypt_cost,
                &shipped.server.trusted_proxies,
            )),
            show(&(
                defaults.server.motd_formatting,
                defaults.server.bcrypt_cost,
                &defaults.server.trusted_proxies,
            )),
        ),
        (
            show(&shipped.listen[0].proxy),
            show(&defaults.listen[0].proxy),
        ),
        (
            show(&shipped.listen[0].sts_only),
            show(&defaults.listen[0].sts_only),
        ),
        (show(&shipped.sts), show(&defaults.sts)),
    ] {
        assert_eq!(a.replace(&shipped_dir, "DIR"), strip(b));
    }
}

/// The shipped 8097 listener with its `tls` line taken out, as ircd.conf
/// says for plain ws:// behind a TLS-terminating proxy.
#[test]
fn shipped_websocket_without_tls_parses() {
    let block = "address = \":8097\"\nwebsocket = true\ntls = {";
    let (_dir, result) = shipped(|t| {
        assert!(t.contains(block));
        let (head, tail) = t.split_at(t.find(block).unwrap());
        let tls_line = tail.find("tls = {").unwrap();
        let line_end = tls_line + tail[tls_line..].find('\n').unwrap() + 1;
        format!("{head}{}{}", &tail[..tls_line], &tail[line_end..])
    });
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.listen.len(), 3);
    assert!(c.listen[2].websocket);
    assert_eq!(c.listen[2].tls, None);
    assert!(c.listen[1].tls.is_some());
}

#[test]
fn shipped_sts_example_parses() {
    let enable = |t: String| {
        t.replace("enabled = false\n", "enabled = true\n")
            .replace("#port = 6697", "port = 6697")
    };
    let (_dir, result) = shipped(enable);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(c.sts.enabled);
    assert_eq!(c.sts.port, Some(6697));
    assert_eq!(c.sts.duration, Duration::ZERO);
    // Without the TLS listener on 6697 the port is refused.
    let (_dir, result) = shipped(|t| {
        enable(t).replacen(
            "address = \":6697\"\ntls = { cert = \"tls/fullchain.pem\", key = \"tls/privkey.pem\" }\n",
            "address = \":6697\"\n",
            1,
        )
    });
    let e = result.expect_err("no TLS listener on 6697");
    assert!(
        e.message
            .starts_with("`sts.port` 6697 is not the port of a TLS listener"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Defaults and values.

#[test]
fn defaults() {
    let (dir, result) = load_in("defaults", MIN);
    let c = result.unwrap();
    assert_eq!(c.path, dir.join("ircd.conf"));
    assert_eq!(c.server.password, None);
    assert_eq!(c.server.motd, None);
    assert_eq!(c.server.motd_path, None);
    assert!(c.server.motd_formatting);
    assert_eq!(c.server.bcrypt_cost, 12);
    assert_eq!(
        c.server.trusted_proxies,
        [
            IpNet {
                addr: "127.0.0.0".parse().unwrap(),
                prefix: 8
            },
            IpNet {
                addr: "::1".parse().unwrap(),
                prefix: 128
            },
        ]
    );
    assert!(!c.listen[0].proxy);
    assert!(c.opers.is_empty());
    assert!(c.oper_classes.is_empty());

    let l = &c.limits;
    assert_eq!(
        (
            l.max_clients,
            l.per_ip,
            l.throttle_per_minute,
            l.sendq,
            l.fakelag
        ),
        (10_000, 16, 32, 98_304, true)
    );
    assert!(l.exempt.is_empty());
    assert_eq!(
        (
            l.nicklen,
            l.channellen,
            l.topiclen,
            l.awaylen,
            l.kicklen,
            l.chanlimit
        ),
        (32, 64, 390, 390, 390, 100)
    );
    assert_eq!((l.multiline_max_bytes, l.multiline_max_lines), (4096, 100));

    assert_eq!(c.timeouts.registration, Duration::from_secs(60));
    assert_eq!(c.timeouts.ping, Duration::from_secs(90));
    assert_eq!(c.timeouts.ping_timeout, Duration::from_secs(150));

    let f = &c.fakelag;
    assert!(f.enabled);
    assert_eq!(f.window, Duration::from_secs(1));
    assert_eq!((f.burst_limit, f.messages_per_window), (5, 2));
    assert_eq!(f.cooldown, Duration::from_secs(2));

    let k = &c.cloaks;
    assert!(k.enabled);
    assert_eq!(k.netname, "irc");
    assert_eq!((k.cidr_len_ipv4, k.cidr_len_ipv6, k.num_bits), (32, 64, 64));
    assert_eq!(k.secret.len(), 64);

    assert_eq!(c.admin.location1, "");
    assert_eq!(c.admin.location2, "");
    assert_eq!(c.admin.email, "");
    assert_eq!(c.datastore.path, dir.join("ircd.db"));
    assert_eq!(c.history.path, dir.join("history"));
    assert!(c.accounts.registration);
    assert_eq!(c.logging.level, "info");
    assert_eq!(c.relaymsg.separators, "/");
    assert!(c.relaymsg.available_to_chanops);
    assert!(!c.listen[0].sts_only);
    assert_eq!(
        c.sts,
        StsConfig {
            enabled: false,
            port: None,
            duration: Duration::ZERO,
            preload: false,
            only_ports: vec![],
        }
    );
    assert!(!c.sts.is_sts_only(6667));
}

#[test]
fn values_are_read() {
    let c = load(&with(
        r#"
[limits]
max-clients = 50
per-ip = 0
throttle-per-minute = 0
sendq = 512
fakelag = false
exempt = ["10.0.0.0/8", "::1", "192.168.1.7"]
nicklen = 9
channellen = 50
topiclen = 300
awaylen = 200
kicklen = 100
chanlimit = 20
multiline-max-bytes = 8192
multiline-max-lines = 20

[timeouts]
registration = "30s"
ping = "2m"
ping-timeout = "1h1m1s"

[fakelag]
window = "500ms"
burst-limit = 10
messages-per-window = 3
cooldown = "0s"

[cloaks]
netname = "pico.net"
secret = "hunter2"
cidr-len-ipv4 = 24
cidr-len-ipv6 = 48
num-bits = 80

[admin]
location1 = "A Pi"
location2 = "under the stairs"
email = "root@pico.test"

[accounts]
registration = false

[logging]
level = "debug"
"#,
    ));
    let l = &c.limits;
    assert_eq!(
        (
            l.max_clients,
            l.per_ip,
            l.throttle_per_minute,
            l.sendq,
            l.fakelag
        ),
        (50, 0, 0, 512, false)
    );
    assert_eq!(
        l.exempt,
        [
            IpNet {
                addr: "10.0.0.0".parse().unwrap(),
                prefix: 8
            },
            IpNet {
                addr: "::1".parse().unwrap(),
                prefix: 128
            },
            IpNet {
                addr: "192.168.1.7".parse().unwrap(),
                prefix: 32
            },
        ]
    );
    assert!(l.exempt[0].contains("10.9.8.7".parse().unwrap()));
    assert_eq!(
        (
            l.nicklen,
            l.channellen,
            l.topiclen,
            l.awaylen,
            l.kicklen,
            l.chanlimit
        ),
        (9, 50, 300, 200, 100, 20)
    );
    assert_eq!((l.multiline_max_bytes, l.multiline_max_lines), (8192, 20));
    assert_eq!(c.timeouts.registration, Duration::from_secs(30));
    assert_eq!(c.timeouts.ping, Duration::from_secs(120));
    assert_eq!(c.timeouts.ping_timeout, Duration::from_secs(3661));
    // `enabled` follows limits.fakelag.
    assert!(!c.fakelag.enabled);
    assert_eq!(c.fakelag.window, Duration::from_millis(500));
    assert_eq!(
        (c.fakelag.burst_limit, c.fakelag.messages_per_window),
        (10, 3)
    );
    assert_eq!(c.fakelag.cooldown, Duration::ZERO);
    assert_eq!(c.cloaks.netname, "pico.net");
    assert_eq!(c.cloaks.secret, b"hunter2");
    assert_eq!(
        (
            c.cloaks.cidr_len_ipv4,
            c.cloaks.cidr_len_ipv6,
            c.cloaks.num_bits
        ),
        (24, 48, 80)
    );
    assert_eq!(c.admin.location1, "A Pi");
    assert_eq!(c.admin.location2, "under the stairs");
    assert_eq!(c.admin.email, "root@pico.test");
    assert!(!c.accounts.registration);
    assert_eq!(c.logging.level, "debug");
}

#[test]
fn listen_address_forms() {
    let c = load(&with(
        r#"
[[listen]]
address = "[::1]:6667"

[[listen]]
address = ":6668"

[[listen]]
address = "[::]:6668"

[[listen]]
address = "localhost:6669"
websocket = true
"#,
    ));
    let addrs: Vec<String> = c.listen.iter().map(|l| l.address.to_string()).collect();
    assert_eq!(
        addrs,
        [
            "127.0.0.1:6667",
            "[::1]:6667",
            "0.0.0.0:6668",
            "[::]:6668",
            "127.0.0.1:6669"
        ]
    );
    assert!(c.listen[4].websocket);
}

#[test]
fn proxy_listeners_and_trusted_proxies() {
    let text = MIN.replace(
        "network = \"PicoNet\"",
        "network = \"PicoNet\"\ntrusted-proxies = [\"10.0.0.0/8\", \"fd00::/8\", \"192.0.2.7\"]",
    );
    let c = load(&format!(
        "{text}proxy = true\n\n[[listen]]\naddress = \"127.0.0.1:6668\"\n"
    ));
    let shown: Vec<String> = c
        .server
        .trusted_proxies
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "fd00::/8", "192.0.2.7/32"]);
    assert!(c.listen[0].proxy);
    assert!(!c.listen[1].proxy);
    // An empty list: no peer may send a PROXY header.
    let c = load(&MIN.replace(
        "network = \"PicoNet\"",
        "network = \"PicoNet\"\ntrusted-proxies = []",
    ));
    assert!(c.server.trusted_proxies.is_empty());
}

#[test]
fn proxy_errors() {
    // The bad entry is pointed at: line 4, the second string's column.
    assert_error(
        &MIN.replace(
            "network = \"PicoNet\"",
            "network = \"PicoNet\"\ntrusted-proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]",
        ),
        "ircd.conf:4:34",
        "invalid address block `10.0.0.0/33`: the prefix length must be 0 to 32",
    );
    for (bad, why) in [
        ("localhost", "expected an IP address or ip/prefix"),
        ("::1/+8", "the prefix length must be 0 to 128"),
        ("fd00::/129", "the prefix length must be 0 to 128"),
        ("", "expected an IP address or ip/prefix"),
    ] {
        assert_error(
            &MIN.replace(
                "network = \"PicoNet\"",
                &format!("network = \"PicoNet\"\ntrusted-proxies = [\"{bad}\"]"),
            ),
            "ircd.conf:4:20",
            &format!("invalid address block `{bad}`: {why}"),
        );
    }
    assert_error(
        &MIN.replace(
            "network = \"PicoNet\"",
            "network = \"PicoNet\"\ntrusted-proxies = \"127.0.0.1\"",
        ),
        "ircd.conf:4:19",
        "invalid type: string \"127.0.0.1\", expected an array",
    );
    assert_error(
        &with("proxy = \"yes\"\n"),
        "ircd.conf:7:9",
        "invalid type: string \"yes\", expected a boolean",
    );
}

#[test]
fn durations() {
    let c = load(&with(
        "[timeouts]\nregistration = \"1m500ms\"\nping = \"1d\"\nping-timeout = \"1d1h\"\n",
    ));
    assert_eq!(c.timeouts.registration, Duration::from_millis(60_500));
    assert_eq!(c.timeouts.ping, Duration::from_secs(86_400));
    assert_eq!(c.timeouts.ping_timeout, Duration::from_secs(90_000));
    // Each bad form is refused at the value (line 8, column 8).
    for bad in ["90", "90x", "1.5s", "", "s", "2m 30s"] {
        assert_error(
            &with(&format!("[timeouts]\nping = \"{bad}\"\n")),
            "ircd.conf:8:8",
            &format!("invalid duration `{bad}`"),
        );
    }
    assert_error(
        &with("[timeouts]\nping = \"0s\"\n"),
        "ircd.conf:8:8",
        "`timeouts.ping` must be at least 1s",
    );
    assert_error(
        &with("[timeouts]\nping = 90\n"),
        "ircd.conf:8:8",
        "expected a string",
    );
    assert_error(
        &with("[timeouts]\nping = \"3m\"\nping-timeout = \"2m\"\n"),
        "ircd.conf:9:16",
        "must be longer than `timeouts.ping` (3m)",
    );
    assert_error(
        &with("[fakelag]\ncooldown = \"2q\"\n"),
        "ircd.conf:8:12",
        "unknown unit `q`",
    );
}

#[test]
fn relative_paths_are_resolved_against_the_config_folder() {
    let dir = temp_dir("paths");
    fs::create_dir_all(dir.join("etc/keys")).unwrap();
    fs::create_dir_all(dir.join("etc/text")).unwrap();
    fs::write(dir.join("etc/text/motd.txt"), "hello\n").unwrap();
    let absolute = dir.join("elsewhere.db");
    let text = with(&format!(
        r#"
[[listen]]
address = ":6697"
tls = {{ cert = "tls/fullchain.pem", key = "../privkey.pem" }}

[datastore]
path = "{}"

[history]
path = "var/history"

[cloaks]
secret-file = "keys/cloak.key"
"#,
        absolute.display()
    ))
    .replace(
        "network = \"PicoNet\"",
        "network = \"PicoNet\"\nmotd = \"text/motd.txt\"",
    );
    let path = dir.join("etc/ircd.conf");
    fs::write(&path, text).unwrap();
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let etc = dir.join("etc");
    assert_eq!(c.server.motd_path, Some(etc.join("text/motd.txt")));
    assert_eq!(c.server.motd, Some(vec!["hello".to_string()]));
    assert_eq!(
        c.listen[1].tls,
        Some(TlsFiles {
            cert: etc.join("tls/fullchain.pem"),
            key: etc.join("../privkey.pem"),
        })
    );
    assert_eq!(c.datastore.path, absolute);
    assert_eq!(c.history.path, etc.join("var/history"));
    assert!(etc.join("keys/cloak.key").exists());
    assert!(!dir.join("keys").exists());
}

// ---------------------------------------------------------------------------
// Errors: each points at the offending value.

#[test]
fn unreadable_config_file_has_no_position() {
    let dir = temp_dir("missing");
    let path = dir.join("nope.conf");
    let e = Config::load(&path).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
    assert_eq!(e.file, path);
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: cannot read the configuration file",
            path.display()
        )),
        "{shown}"
    );
}

#[test]
fn toml_syntax_errors() {
    assert_error(&with("[limits\n"), "ircd.conf:7:8", "unclosed table");
    assert_error(
        &with("[limits]\nnicklen = 1\nnicklen = 2\n"),
        "ircd.conf:9:1",
        "duplicate key",
    );
    assert_error(
        &with("[limits]\nnicklen = \"x\"\n"),
        "ircd.conf:8:11",
        "invalid type: string \"x\", expected an integer",
    );
}

#[test]
fn unknown_keys() {
    assert_error(
        &with("[limits]\nfoo = 1\n"),
        "ircd.conf:8:1",
        "unknown key `foo`, expected one of `max-clients`, `per-ip`",
    );
    assert_error(
        &with("[serverr]\nname = \"x\"\n"),
        "ircd.conf:7:2",
        "unknown key `serverr`",
    );
    assert_error(
        &MIN.replace(
            "network = \"PicoNet\"",
            "network = \"PicoNet\"\nmotd_formatting = true",
        ),
        "ircd.conf:4:1",
        "unknown key `motd_formatting`",
    );
    assert_error(
        &with("[[listen]]\naddress = \":6697\"\ntls = { cert = \"a\", kex = \"b\" }\n"),
        "ircd.conf:9:21",
        "unknown key `kex`, expected `cert` or `key`",
    );
    // `enabled` belongs to [limits] as `fakelag`, not to [fakelag].
    assert_error(
        &with("[fakelag]\nenabled = true\n"),
        "ircd.conf:8:1",
        "unknown key `enabled`",
    );
}

#[test]
fn missing_sections_and_keys() {
    assert_error(
        "[[listen]]\naddress = \":6667\"\n",
        "ircd.conf:1:1",
        "missing key `server`",
    );
    assert_error(
        "[server]\nname = \"pico.test\"\nnetwork = \"N\"\n",
        "ircd.conf:1:1",
        "no [[listen]] section",
    );
    assert_error(
        "listen = []\n[server]\nname = \"pico.test\"\nnetwork = \"N\"\n",
        "ircd.conf:1:10",
        "at least one listener is required",
    );
    assert_error(
        &with("[[listen]]\nwebsocket = true\n"),
        "ircd.conf:7:1",
        "missing key `address`",
    );
    assert_error(
        &with("[[listen]]\naddress = \":6697\"\ntls = { cert = \"a\" }\n"),
        "ircd.conf:9:7",
        "missing key `key`",
    );
}

#[test]
fn server_errors() {
    for bad in [
        "pico",
        "pico..test",
        "pico test.x",
        "pico_test.x",
        "-pico.test",
    ] {
        assert_error(
            &MIN.replace("\"pico.test\"", &format!("\"{bad}\"")),
            "ircd.conf:2:8",
            &format!("invalid server name `{bad}`"),
        );
    }
    assert_error(
        &MIN.replace("\"PicoNet\"", "\"Pico Net\""),
        "ircd.conf:3:11",
        "must not contain spaces",
    );
    assert_error(
        &MIN.replace("\"PicoNet\"", "\"PicoNet\"\npassword = \"changeme\""),
        "ircd.conf:4:12",
        "invalid bcrypt hash `changeme`: it must start with $2a$, $2b$ or $2y$",
    );
    let truncated = &GO_HASH[..40];
    assert_error(
        &MIN.replace(
            "\"PicoNet\"",
            &format!("\"PicoNet\"\npassword = \"{truncated}\""),
        ),
        "ircd.conf:4:12",
        "invalid bcrypt hash",
    );
    assert_error(
        &MIN.replace("\"PicoNet\"", "\"PicoNet\"\nbcrypt-cost = 3"),
        "ircd.conf:4:15",
        "`server.bcrypt-cost` must be 4 to 31, not 3",
    );
    assert_error(
        &MIN.replace("\"PicoNet\"", "\"PicoNet\"\nmotd = \"no-such.motd\""),
        "ircd.conf:4:8",
        "cannot read the MOTD file",
    );
}

#[test]
fn listen_errors() {
    for bad in ["xyz", "6667", "example.com:6667", ":70000", "::1:6667"] {
        assert_error(
            &with(&format!("[[listen]]\naddress = \"{bad}\"\n")),
            "ircd.conf:8:11",
            &format!("invalid listen address `{bad}`: expected host:port, [v6]:port or :port"),
        );
    }
    assert_error(
        &with("\n[[listen]]\naddress = \"127.0.0.1:6667\"\n"),
        "ircd.conf:9:11",
        "listen address `127.0.0.1:6667` repeats `127.0.0.1:6667` on line 6",
    );
    assert_error(
        &with("[[listen]]\naddress = \":6667\"\n"),
        "ircd.conf:8:11",
        "listen address `:6667` overlaps (the same port on all interfaces) `127.0.0.1:6667` on line 6",
    );
    assert_error(
        &with("[[listen]]\naddress = \":6697\"\ntls = { cert = \"\", key = \"k\" }\n"),
        "ircd.conf:9:16",
        "`tls.cert` must not be empty",
    );
}

// ---------------------------------------------------------------------------
// [sts] and sts-only listeners.

/// A TLS listener on port 6697, appended after MIN: lines 7 to 9, a blank
/// line 10; what follows starts on line 11.
const TLS_6697: &str =
    "[[listen]]\naddress = \":6697\"\ntls = { cert = \"c.pem\", key = \"k.pem\" }\n\n";

#[test]
fn sts_section_and_sts_only_listeners() {
    let c = load(&with(&format!(
        "{TLS_6697}[[listen]]\naddress = \"127.0.0.1:6668\"\nsts-only = true\n\n\
         [[listen]]\naddress = \"[::1]:6668\"\nsts-only = true\n\n\
         [sts]\nenabled = true\nport = 6697\nduration = \"30d\"\npreload = true\n"
    )));
    assert_eq!(
        c.sts,
        StsConfig {
            enabled: true,
            port: Some(6697),
            duration: Duration::from_secs(2_592_000),
            preload: true,
            // Two listeners on one port: the port once.
            only_ports: vec![6668],
        }
    );
    let flags: Vec<bool> = c.listen.iter().map(|l| l.sts_only).collect();
    assert_eq!(flags, [false, false, true, true]);
    assert!(c.sts.is_sts_only(6668));
    assert!(!c.sts.is_sts_only(6667) && !c.sts.is_sts_only(6697));
    // Enabled without sts-only listeners; duration 0; a port given while
    // disabled is only range-checked.
    let c = load(&with(&format!(
        "{TLS_6697}[sts]\nenabled = true\nport = 6697\nduration = \"0s\"\n"
    )));
    assert!(c.sts.enabled && c.sts.only_ports.is_empty());
    assert_eq!(c.sts.duration, Duration::ZERO);
    let c = load(&with("[sts]\nport = 7000\n"));
    assert_eq!((c.sts.enabled, c.sts.port), (false, Some(7000)));
}

#[test]
fn sts_errors() {
    assert_error(
        &with(&format!("{TLS_6697}[sts]\nenabled = true\n")),
        "ircd.conf:12:11",
        "`sts.port` is required when `sts.enabled` is true: the TLS port clients are told to reconnect to",
    );
    assert_error(
        &with(&format!("{TLS_6697}[sts]\nenabled = true\nport = 6698\n")),
        "ircd.conf:13:8",
        "`sts.port` 6698 is not the port of a TLS listener: clients sent there would fail to connect; add a [[listen]] with `tls` on port 6698",
    );
    // A plaintext listener on that port is no TLS listener, nor is wss://.
    assert_error(
        &with("[sts]\nenabled = true\nport = 6667\n"),
        "ircd.conf:9:8",
        "`sts.port` 6667 is not the port of a TLS listener",
    );
    assert_error(
        &with(&format!(
            "{}\nwebsocket = true\n\n[sts]\nenabled = true\nport = 6697\n",
            TLS_6697.trim_end()
        )),
        "ircd.conf:14:8",
        "`sts.port` 6697 is not the port of a TLS listener",
    );
    for bad in ["0", "70000", "-1"] {
        assert_error(
            &with(&format!("[sts]\nport = {bad}\n")),
            "ircd.conf:8:8",
            &format!("`sts.port` must be 1 to 65535, not {bad}"),
        );
    }
    assert_error(
        &with("[sts]\nduration = \"1mo\"\n"),
        "ircd.conf:8:12",
        "invalid duration `1mo`: unknown unit `mo`",
    );
    assert_error(
        &with("[sts]\nduration = \"1500ms\"\n"),
        "ircd.conf:8:12",
        "`sts.duration` must be whole seconds: clients are sent a number of seconds",
    );
    assert_error(
        &with("[sts]\nenabled = \"yes\"\n"),
        "ircd.conf:8:11",
        "invalid type: string \"yes\", expected a boolean",
    );
    assert_error(
        &with("[sts]\nmax-age = 5\n"),
        "ircd.conf:8:1",
        "unknown key `max-age`",
    );
}

#[test]
fn sts_only_listener_errors() {
    let on = "\n[sts]\nenabled = true\nport = 6697\n";
    assert_error(
        &with(&format!(
            "sts-only = true\ntls = {{ cert = \"c.pem\", key = \"k.pem\" }}\n{on}"
        )),
        "ircd.conf:7:12",
        "a listener cannot be both `tls` and `sts-only`",
    );
    assert_error(
        &with(&format!(
            "websocket = true\nsts-only = true\n\n{TLS_6697}{on}"
        )),
        "ircd.conf:8:12",
        "a listener cannot be both `websocket` and `sts-only`: web clients do not follow STS",
    );
    assert_error(
        &format!(
            "{}sts-only = true\n\n{TLS_6697}{on}",
            MIN.replace("127.0.0.1:6667", "127.0.0.1:0")
        ),
        "ircd.conf:7:12",
        "an `sts-only` listener needs a fixed port, not 0",
    );
    // Without [sts], or with it off.
    assert_error(
        &with("sts-only = true\n"),
        "ircd.conf:7:12",
        "`sts-only` needs `[sts]` with `enabled = true` and the TLS `port` to send clients to",
    );
    assert_error(
        &with(&format!(
            "sts-only = true\n\n{TLS_6697}[sts]\nport = 6697\n"
        )),
        "ircd.conf:7:12",
        "`sts-only` needs `[sts]`",
    );
    // Another listener on the same port (another address) that is not sts-only.
    assert_error(
        &with(&format!(
            "{TLS_6697}[[listen]]\naddress = \"192.0.2.1:6667\"\nsts-only = true\n{on}"
        )),
        "ircd.conf:13:12",
        "`sts-only` listeners are told apart by their port: `127.0.0.1:6667` on line 6 uses port 6667 too and is not sts-only",
    );
    assert_error(
        &with("sts-only = 1\n"),
        "ircd.conf:7:12",
        "invalid type: integer `1`, expected a boolean",
    );
}

#[test]
fn limits_errors() {
    let cases = [
        (
            "sendq = 100",
            9,
            "`limits.sendq` must be 512 to 67108864, not 100",
        ),
        (
            "sendq = 67108865",
            9,
            "`limits.sendq` must be 512 to 67108864, not 67108865",
        ),
        ("nicklen = 0", 11, "`limits.nicklen` must be 1 to 64, not 0"),
        (
            "nicklen = 65",
            11,
            "`limits.nicklen` must be 1 to 64, not 65",
        ),
        ("channellen = 1", 14, "`limits.channellen` must be 2 to 64"),
        ("topiclen = 391", 12, "`limits.topiclen` must be 1 to 390"),
        (
            "per-ip = -1",
            10,
            "`limits.per-ip` must be 0 to 1000000, not -1",
        ),
        (
            "max-clients = 0",
            15,
            "`limits.max-clients` must be 1 to 1000000",
        ),
        (
            "exempt = [\"10.0.0.0/8\", \"10.0.0.0/33\"]",
            25,
            "invalid address block `10.0.0.0/33`",
        ),
        (
            "multiline-max-bytes = 511",
            23,
            "`limits.multiline-max-bytes` must be 512 to 65536, not 511",
        ),
        (
            "multiline-max-bytes = 65537",
            23,
            "`limits.multiline-max-bytes` must be 512 to 65536, not 65537",
        ),
        (
            "multiline-max-lines = 0",
            23,
            "`limits.multiline-max-lines` must be 1 to 1000, not 0",
        ),
        (
            "multiline-max-lines = 1001",
            23,
            "`limits.multiline-max-lines` must be 1 to 1000, not 1001",
        ),
    ];
    for (line, column, message) in cases {
        assert_error(
            &with(&format!("[limits]\n{line}\n")),
            &format!("ircd.conf:8:{column}"),
            message,
        );
    }
    assert_error(
        &with("[fakelag]\nburst-limit = 0\n"),
        "ircd.conf:8:15",
        "`fakelag.burst-limit` must be 1 to 1000",
    );
    assert_error(
        &with("[cloaks]\ncidr-len-ipv6 = 129\n"),
        "ircd.conf:8:17",
        "`cloaks.cidr-len-ipv6` must be 0 to 128",
    );
    assert_error(
        &with("[cloaks]\nnetname = \"a b\"\n"),
        "ircd.conf:8:11",
        "invalid cloak netname `a b`",
    );
    assert_error(
        &with("[logging]\nlevel = \"loud\"\n"),
        "ircd.conf:8:9",
        "unknown log level `loud`",
    );
    assert_error(
        &with("[accounts]\nnick-enforcement = \"sometimes\"\n"),
        "ircd.conf:8:20",
        "unknown nick enforcement `sometimes`, expected one of `none`, `strict`, `timeout`",
    );
    assert_error(
        &with("[accounts]\nscram-iterations = 1000\n"),
        "ircd.conf:8:20",
        "`accounts.scram-iterations` must be 4096 to 1000000, not 1000",
    );
    assert_error(
        &with("[accounts]\nenforcement-grace = \"0s\"\n"),
        "ircd.conf:8:21",
        "`accounts.enforcement-grace` must be at least 1s",
    );
    assert_error(
        &with("[admin]\nemail = \"a\\r\\nQUIT\"\n"),
        "ircd.conf:8:9",
        "must not contain line breaks",
    );
}

#[test]
fn relaymsg_section() {
    let c = load(&with(
        "[relaymsg]\nseparators = \"/~\"\navailable-to-chanops = false\n",
    ));
    assert_eq!(c.relaymsg.separators, "/~");
    assert!(!c.relaymsg.available_to_chanops);
    let cases = [
        ("\"\"", "`relaymsg.separators` must not be empty"),
        (
            "\"/|\"",
            "`relaymsg.separators` may not contain `|`: a separator must be a character no nickname can hold, one of `/` `(` `)` `<` `>` `;` `=` `~`",
        ),
        ("\"/ \"", "may not contain ` `"),
        ("\"/.\"", "may not contain `.`"),
        ("\"/~/\"", "`relaymsg.separators` repeats `/`"),
    ];
    for (value, message) in cases {
        assert_error(
            &with(&format!("[relaymsg]\nseparators = {value}\n")),
            "ircd.conf:8:14",
            message,
        );
    }
    assert_error(
        &with("[relaymsg]\navailable-to-chanops = \"yes\"\n"),
        "ircd.conf:8:24",
        "invalid type",
    );
    assert_error(
        &with("[relaymsg]\nenabled = true\n"),
        "ircd.conf:8:1",
        "unknown key `enabled`, expected `separators` or `available-to-chanops`",
    );
}

const CLASSES: &str = r#"
[oper-classes.mod]
title = "Moderator"
capabilities = ["kill", "ban"]

[oper-classes.admin]
title = "Admin"
extends = "mod"
capabilities = ["rehash", "kill"]

[oper-classes.root]
extends = "admin"
capabilities = ["defcon"]
"#;

#[test]
fn oper_classes_extend() {
    let c = load(&with(CLASSES));
    let caps = |name: &str| c.oper_class(name).unwrap().capabilities.clone();
    assert_eq!(caps("mod"), ["kill", "ban"]);
    assert_eq!(caps("admin"), ["kill", "ban", "rehash"]);
    assert_eq!(caps("root"), ["kill", "ban", "rehash", "defcon"]);
    // The title defaults to the class name; classes keep file order.
    assert_eq!(c.oper_class("root").unwrap().title, "root");
    let names: Vec<&str> = c.oper_classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["mod", "admin", "root"]);
}

#[test]
fn oper_class_errors() {
    // Lines: 7 blank, 8 [oper-classes.a], 9 extends, 10 blank, 11 [oper-classes.b], 12 extends.
    assert_error(
        &with("\n[oper-classes.a]\nextends = \"b\"\n\n[oper-classes.b]\nextends = \"a\"\n"),
        "ircd.conf:12:11",
        "oper classes extend each other in a cycle: a → b → a",
    );
    assert_error(
        &with("\n[oper-classes.a]\nextends = \"a\"\n"),
        "ircd.conf:9:11",
        "cycle: a → a",
    );
    assert_error(
        &with("\n[oper-classes.a]\nextends = \"nope\"\n"),
        "ircd.conf:9:11",
        "oper class `a` extends `nope`, which is not defined",
    );
    assert_error(
        &with("\n[oper-classes.a]\ncapabilities = [\"kill\", \"die\"]\n"),
        "ircd.conf:9:25",
        "unknown capability `die`, expected one of `kill`, `rehash`",
    );
}

fn oper(name: &str, class: &str, password: &str) -> String {
    format!("\n[[oper]]\nname = \"{name}\"\nclass = \"{class}\"\npassword = \"{password}\"\n")
}

#[test]
fn opers() {
    let text = with(&format!(
        "{CLASSES}{}modes = \"+w\"\nhidden = true\nvhost = \"staff.pico\"\n{}",
        oper("alice", "root", GO_HASH),
        oper("bob", "mod", &GO_HASH.replace("$2a$", "$2b$")),
    ));
    let c = load(&text);
    assert_eq!(c.opers.len(), 2);
    let alice = &c.opers[0];
    assert_eq!(
        (alice.name.as_str(), alice.class.as_str()),
        ("alice", "root")
    );
    assert_eq!(alice.modes, "+w");
    assert!(alice.hidden);
    assert_eq!(alice.vhost.as_deref(), Some("staff.pico"));
    assert_eq!(alice.whois_line, None);
    let bob = &c.opers[1];
    assert_eq!(bob.modes, "");
    assert!(!bob.hidden);
    assert_eq!(bob.vhost, None);
}

#[test]
fn go_bcrypt_hashes_are_accepted_and_verify() {
    let c = load(&with(&format!(
        "{CLASSES}{}",
        oper("alice", "mod", GO_HASH)
    )));
    let hash = c.opers[0].password.as_deref().expect("a password");
    assert!(bcrypt::verify("allmine", hash).unwrap());
    assert!(!bcrypt::verify("allyours", hash).unwrap());
    // Go's vector for a password longer than blowfish's 56 bytes.
    let long = "$2a$10$XajjQvNhvvRt5GSeFk1xFe5l47dONXg781AmZtd869sO8zfsHuw7C";
    assert!(bcrypt::verify(
        "012345678901234567890123456789012345678901234567890123456",
        long
    )
    .unwrap());
}

#[test]
fn oper_errors() {
    // Line 7 blank after MIN, CLASSES is 13 lines (7..=19); the oper block
    // starts at 20 (blank), 21 [[oper]], 22 name, 23 class, 24 password.
    let base = with(CLASSES);
    assert_error(
        &format!("{base}{}", oper("alice", "nope", GO_HASH)),
        "ircd.conf:23:9",
        "oper `alice` has class `nope`, which is not defined in [oper-classes]",
    );
    assert_error(
        &format!("{base}{}", oper("alice", "mod", "$2a$10$tooshort")),
        "ircd.conf:24:12",
        "invalid bcrypt hash `$2a$10$tooshort`",
    );
    assert_error(
        &format!("{base}{}", oper("alice", "mod", "$1$md5$hash")),
        "ircd.conf:24:12",
        "it must start with $2a$, $2b$ or $2y$",
    );
    assert_error(
        &format!(
            "{base}{}{}",
            oper("alice", "mod", GO_HASH),
            oper("Alice", "mod", GO_HASH)
        ),
        "ircd.conf:27:8",
        "duplicate oper name `Alice` (already defined on line 22)",
    );
    assert_error(
        &format!("{base}{}modes = \"w\"\n", oper("alice", "mod", GO_HASH)),
        "ircd.conf:25:9",
        "invalid modes `w`",
    );
    assert_error(
        &format!("{base}{}vhost = \"a@b\"\n", oper("alice", "mod", GO_HASH)),
        "ircd.conf:25:9",
        "invalid vhost `a@b`",
    );
    assert_error(
        &format!("{base}\n[[oper]]\nname = \"x\"\n"),
        "ircd.conf:21:1",
        "missing key `class`",
    );
}

// ---------------------------------------------------------------------------
// The MOTD.

fn with_motd(motd: &[u8], formatting: bool) -> Result<Config, String> {
    let dir = temp_dir("motd");
    fs::write(dir.join("ircd.motd"), motd).unwrap();
    let text = MIN.replace(
        "network = \"PicoNet\"",
        &format!("network = \"PicoNet\"\nmotd = \"ircd.motd\"\nmotd-formatting = {formatting}"),
    );
    Config::load_str(&text, &dir.join("ircd.conf"))
        .map_err(|e| e.to_string().replace(&format!("{}/", dir.display()), ""))
}

#[test]
fn motd_formatting_codes() {
    let motd = b"$bBold$b $iit$i $uun$u $sst$s $mmono$m $vrev$v $r\r\n\
                 \r\n\
                 $c[red]red $c[light blue,black]lb $c[4]four $c[]reset $c12raw\n\
                 price $$5 and $5, a $ at the end $\n\
                 \n";
    let c = with_motd(motd, true).unwrap();
    assert_eq!(
        c.server.motd.unwrap(),
        [
            "\x02Bold\x02 \x1dit\x1d \x1fun\x1f \x1est\x1e \x11mono\x11 \x16rev\x16 \x0f",
            "",
            "\x0304red \x0312,01lb \x0304four \x03reset \x0312raw",
            "price $5 and $5, a $ at the end $",
            "",
        ]
    );
    assert!(c.server.motd_formatting);
}

#[test]
fn motd_without_formatting_is_kept_as_written() {
    let c = with_motd(b"$bhello$b\r\nline 2", false).unwrap();
    assert_eq!(c.server.motd.unwrap(), ["$bhello$b", "line 2"]);
    assert!(!c.server.motd_formatting);
}

#[test]
fn motd_errors_point_into_the_motd_file() {
    assert_eq!(
        with_motd(b"ok\nso $c[mauve]purple\n", true).unwrap_err(),
        "ircd.motd:2:7: unknown colour `mauve` in the MOTD: use a number 0-99 or one of white, black, blue, green, red, brown, magenta, orange, yellow, light green, cyan, light cyan, light blue, pink, grey, light grey, default"
    );
    let e = with_motd(b"$c[red,nope]x", true).unwrap_err();
    assert!(e.starts_with("ircd.motd:1:8: unknown colour `nope`"), "{e}");
    let e = with_motd(b"\n\n  $c[red", true).unwrap_err();
    assert_eq!(e, "ircd.motd:3:3: unclosed `$c[`: expected `]`");
}

// ---------------------------------------------------------------------------
// The cloak key file.

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn cloak_secret_file_is_created_once_and_reused() {
    let dir = temp_dir("cloak");
    let path = dir.join("ircd.conf");
    fs::write(&path, MIN).unwrap();
    let key = dir.join("cloak.key");

    // `check` creates nothing.
    let c = Config::load_readonly(&path).unwrap();
    assert!(c.cloaks.secret.is_empty());
    assert!(!key.exists());

    let first = Config::load(&path).unwrap().cloaks.secret;
    assert_eq!(first.len(), 64);
    assert!(first.iter().all(|b| b.is_ascii_hexdigit()));
    let text = fs::read_to_string(&key).unwrap();
    assert_eq!(text.trim().as_bytes(), &first[..]);
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    let second = Config::load(&path).unwrap().cloaks.secret;
    assert_eq!(first, second);
    assert_eq!(Config::load_readonly(&path).unwrap().cloaks.secret, first);

    // Another folder, another key.
    let (_, other) = load_in("cloak-other", MIN);
    assert_ne!(other.unwrap().cloaks.secret, first);
}

#[test]
fn cloak_secret_inline_or_disabled_touches_no_file() {
    let (dir, c) = load_in("cloak-inline", &with("[cloaks]\nsecret = \"s3cret\"\n"));
    assert_eq!(c.unwrap().cloaks.secret, b"s3cret");
    assert!(!dir.join("cloak.key").exists());
    let (dir, c) = load_in("cloak-off", &with("[cloaks]\nenabled = false\n"));
    let c = c.unwrap();
    assert!(!c.cloaks.enabled);
    assert!(c.cloaks.secret.is_empty());
    assert!(!dir.join("cloak.key").exists());
}

#[test]
fn cloak_secret_file_errors() {
    let (dir, result) = load_in("cloak-empty", MIN);
    drop(result);
    fs::write(dir.join("empty.key"), "\n").unwrap();
    let text = with("[cloaks]\nsecret-file = \"empty.key\"\n");
    fs::write(dir.join("ircd.conf"), &text).unwrap();
    let e = Config::load(&dir.join("ircd.conf")).unwrap_err();
    assert_eq!((e.line, e.column), (8, 15));
    assert!(e.message.contains("is empty"), "{}", e.message);
    assert_error(
        &with("[cloaks]\nsecret-file = \"no/such/folder/cloak.key\"\n"),
        "ircd.conf:8:15",
        "cannot create the cloak secret file",
    );
    assert_error(
        &with("[cloaks]\nsecret = \"\"\n"),
        "ircd.conf:8:10",
        "`cloaks.secret` must not be empty",
    );
}

#[test]
fn unix_socket_and_tor_listeners() {
    let c = load(&format!(
        "{MIN}\n[[listen]]\naddress = \"./irc.sock\"\ntor = true\n\n[[listen]]\naddress = \"/run/x.sock\"\n"
    ));
    let unix: Vec<_> = c.listen.iter().filter_map(|l| l.unix.clone()).collect();
    assert_eq!(unix.len(), 2);
    assert!(unix[0].ends_with("irc.sock") && unix[0].is_absolute());
    assert_eq!(unix[1], std::path::PathBuf::from("/run/x.sock"));
    assert!(c.listen[1].tor && !c.listen[2].tor && !c.listen[0].tor);
    assert_error(
        &format!(
            "{MIN}\n[[listen]]\naddress = \"./a.sock\"\n\n[[listen]]\naddress = \"./a.sock\"\n"
        ),
        "ircd.conf:12:11",
        "listen path `./a.sock` repeats",
    );
}
