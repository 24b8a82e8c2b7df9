//! Raw tables → the validated `Config`: defaults, ranges, relative paths,
//! and one `ConfigError` pointing at the first offending value.
//!
//! Also reads the MOTD, since a config that loads must be one the server
//! can run. Oper blocks and classes are in `opers`, the tuning sections
//! (limits, timeouts, fakelag, cloaks) in `tuning`, `[sts]` and the
//! `sts-only` listeners in `sts`, the default values in `defaults`.
//! Imports its sibling modules.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::defaults::{
    BCRYPT_COST, DATASTORE, HISTORY, LOG_LEVEL, LOG_LEVELS, RELAYMSG_SEPARATORS, TRUSTED_PROXIES,
};
use super::raw::{self, Int, Str};
use super::source::Source;
use super::{motd, opers, sts, tuning, values};
use super::{
    AccountsConfig, AdminConfig, Config, ConfigError, DatastoreConfig, HistoryConfig, IpNet,
    ListenConfig, LoggingConfig, NickEnforcement, RelaymsgConfig, ServerConfig, TlsFiles,
    WebsocketConfig,
};

/// Everything a check needs: the text for positions, the folders for paths.
pub struct Ctx<'a> {
    pub src: Source<'a>,
    /// The config file's folder: relative paths of read-only files (MOTD,
    /// TLS certificates) are resolved against it.
    pub base: &'a Path,
    /// The folder for what the server writes (datastore, history, cloak
    /// key): `$STATE_DIRECTORY` under systemd, else `base`.
    pub state: &'a Path,
    /// Create the cloak key file if it is missing (false for `check`).
    pub create_files: bool,
}

impl Ctx<'_> {
    pub fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        self.src.error(at.span(), message)
    }

    /// Wraps a `values` parser: its message, at `at`.
    pub fn check<T, R>(
        &self,
        at: &Spanned<T>,
        result: Result<R, String>,
    ) -> Result<R, ConfigError> {
        result.map_err(|m| self.err(at, m))
    }

    /// A path value, resolved against the config file's folder.
    pub fn path(&self, at: &Str, key: &str) -> Result<PathBuf, ConfigError> {
        if at.get_ref().is_empty() {
            return Err(self.err(at, format!("`{key}` must not be empty")));
        }
        Ok(self.base.join(at.get_ref()))
    }

    /// A path to something the server writes, resolved against the state
    /// folder; `default` when absent.
    pub fn state_path_or(
        &self,
        at: &Option<Str>,
        key: &str,
        default: &str,
    ) -> Result<PathBuf, ConfigError> {
        match at {
            Some(at) if at.get_ref().is_empty() => {
                Err(self.err(at, format!("`{key}` must not be empty")))
            }
            Some(at) => Ok(self.state.join(at.get_ref())),
            None => Ok(self.state.join(default)),
        }
    }

    /// An integer in `range`, or `default` when absent.
    pub fn int(
        &self,
        at: &Option<Int>,
        key: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ConfigError> {
        let Some(at) = at else { return Ok(default) };
        let v = *at.get_ref();
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                at,
                format!(
                    "`{key}` must be {} to {}, not {v}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    pub fn usize(
        &self,
        at: &Option<Int>,
        key: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<usize, ConfigError> {
        // The range is never negative, so the cast cannot wrap.
        self.int(at, key, default, range).map(|v| v as usize)
    }

    /// A duration string, at least `min`, or `default` when absent.
    pub fn duration(
        &self,
        at: &Option<Str>,
        key: &str,
        default: Duration,
        min: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(at) = at else { return Ok(default) };
        let d = self.check(at, values::duration(at.get_ref()))?;
        if d < min {
            return Err(self.err(
                at,
                format!("`{key}` must be at least {}", values::format_duration(min)),
            ));
        }
        Ok(d)
    }

    pub fn text(&self, at: &Option<Str>, key: &str) -> Result<String, ConfigError> {
        let Some(at) = at else {
            return Ok(String::new());
        };
        self.check(at, values::line_of_text(&format!("`{key}`"), at.get_ref()))?;
        Ok(at.get_ref().clone())
    }
}

/// `[accounts]`.
fn accounts(ctx: &Ctx<'_>, raw: &raw::RawAccounts) -> Result<AccountsConfig, ConfigError> {
    let enforcement = match &raw.nick_enforcement {
        None => NickEnforcement::Timeout,
        Some(at) => match at.get_ref().as_str() {
            "none" => NickEnforcement::None,
            "strict" => NickEnforcement::Strict,
            "timeout" => NickEnforcement::Timeout,
            other => {
                return Err(ctx.err(
                    at,
                    format!(
                        "unknown nick enforcement `{other}`, expected one of `none`, `strict`, `timeout`"
                    ),
                ))
            }
        },
    };
    Ok(AccountsConfig {
        registration: raw.registration.unwrap_or(true),
        enforcement,
        enforcement_grace: ctx.duration(
            &raw.enforcement_grace,
            "accounts.enforcement-grace",
            Duration::from_secs(30),
            Duration::from_secs(1),
        )?,
        max_nicks: ctx.usize(&raw.max_nicks, "accounts.max-nicks", 8, 1..=100)?,
        scram_iterations: ctx.int(
            &raw.scram_iterations,
            "accounts.scram-iterations",
            4096,
            4096..=1_000_000,
        )? as u32,
        registrations_per_minute: ctx.int(
            &raw.registrations_per_minute,
            "accounts.registrations-per-minute",
            5,
            0..=10_000,
        )? as u32,
    })
}

pub fn config(ctx: &Ctx<'_>, raw: raw::RawConfig) -> Result<Config, ConfigError> {
    let server = server(ctx, raw.server.get_ref())?;
    let listen = listeners(ctx, &raw.listen)?;
    let sts = sts::section(ctx, raw.sts.as_ref(), &raw.listen, &listen)?;
    let oper_classes = opers::classes(ctx, raw.oper_classes)?;
    let opers = opers::opers(ctx, &raw.oper, &oper_classes)?;
    let limits = tuning::limits_section(ctx, &raw.limits)?;
    let timeouts = tuning::timeouts(ctx, &raw.timeouts)?;
    let fakelag = tuning::fakelag(ctx, &raw.fakelag, limits.fakelag)?;
    let cloaks = tuning::cloaks(ctx, raw.cloaks.as_ref())?;
    let admin = AdminConfig {
        location1: ctx.text(&raw.admin.location1, "admin.location1")?,
        location2: ctx.text(&raw.admin.location2, "admin.location2")?,
        email: ctx.text(&raw.admin.email, "admin.email")?,
    };
    let level = match &raw.logging.level {
        None => LOG_LEVEL.to_string(),
        Some(at) if LOG_LEVELS.contains(&at.get_ref().as_str()) => at.get_ref().clone(),
        Some(at) => {
            return Err(ctx.err(
                at,
                format!(
                    "unknown log level `{}`, expected one of `error`, `warn`, `info`, `debug`",
                    at.get_ref()
                ),
            ))
        }
    };
    Ok(Config {
        path: ctx.src.file.to_path_buf(),
        state_dir: ctx.state.to_path_buf(),
        server,
        listen,
        opers,
        oper_classes,
        limits,
        timeouts,
        fakelag,
        cloaks,
        admin,
        datastore: DatastoreConfig {
            path: ctx.state_path_or(&raw.datastore.path, "datastore.path", DATASTORE)?,
        },
        history: HistoryConfig {
            path: ctx.state_path_or(&raw.history.path, "history.path", HISTORY)?,
        },
        accounts: accounts(ctx, &raw.accounts)?,
        logging: LoggingConfig { level },
        relaymsg: relaymsg(ctx, &raw.relaymsg)?,
        websocket: websocket(ctx, &raw.websocket)?,
        sts,
    })
}

fn websocket(ctx: &Ctx<'_>, raw: &raw::RawWebsocket) -> Result<WebsocketConfig, ConfigError> {
    let mut allowed_origins = Vec::new();
    for at in raw.allowed_origins.iter().flatten() {
        let origin = at.get_ref();
        ctx.check(at, values::origin(origin))?;
        allowed_origins.push(origin.clone());
    }
    Ok(WebsocketConfig { allowed_origins })
}

fn relaymsg(ctx: &Ctx<'_>, raw: &raw::RawRelaymsg) -> Result<RelaymsgConfig, ConfigError> {
    let separators = match &raw.separators {
        None => RELAYMSG_SEPARATORS.to_string(),
        Some(at) => {
            ctx.check(at, values::relaymsg_separators(at.get_ref()))?;
            at.get_ref().clone()
        }
    };
    Ok(RelaymsgConfig {
        separators,
        available_to_chanops: raw.available_to_chanops.unwrap_or(true),
    })
}

fn server(ctx: &Ctx<'_>, raw: &raw::RawServer) -> Result<ServerConfig, ConfigError> {
    ctx.check(&raw.name, values::server_name(raw.name.get_ref()))?;
    ctx.check(
        &raw.network,
        values::word("the network name", raw.network.get_ref()),
    )?;
    if let Some(password) = &raw.password {
        ctx.check(password, values::bcrypt_hash(password.get_ref()))?;
    }
    let motd_formatting = raw.motd_formatting.unwrap_or(true);
    let (motd, motd_path) = match &raw.motd {
        None => (None, None),
        Some(at) => {
            let path = ctx.path(at, "server.motd")?;
            let bytes = std::fs::read(&path).map_err(|e| {
                ctx.err(
                    at,
                    format!("cannot read the MOTD file {}: {e}", path.display()),
                )
            })?;
            let text = String::from_utf8_lossy(&bytes);
            let src = Source {
                file: &path,
                text: &text,
            };
            (Some(motd::lines(src, motd_formatting)?), Some(path))
        }
    };
    let bcrypt_cost = ctx.int(&raw.bcrypt_cost, "server.bcrypt-cost", BCRYPT_COST, 4..=31)? as u32;
    let trusted_proxies = match &raw.trusted_proxies {
        None => TRUSTED_PROXIES
            .iter()
            .map(|&(addr, prefix)| IpNet { addr, prefix })
            .collect(),
        Some(list) => list
            .iter()
            .map(|at| ctx.check(at, values::ip_net(at.get_ref())))
            .collect::<Result<_, _>>()?,
    };
    Ok(ServerConfig {
        name: raw.name.get_ref().clone(),
        network: raw.network.get_ref().clone(),
        password: raw.password.as_ref().map(|p| p.get_ref().clone()),
        motd,
        motd_path,
        motd_formatting,
        bcrypt_cost,
        trusted_proxies,
    })
}

pub type RawListeners = Option<Spanned<Vec<Spanned<raw::RawListen>>>>;

fn listeners(ctx: &Ctx<'_>, raw: &RawListeners) -> Result<Vec<ListenConfig>, ConfigError> {
    let Some(raw) = raw else {
        return Err(ctx.src.error_at_top(
            "no [[listen]] section: at least one listener is required, e.g. [[listen]] address = \"127.0.0.1:6667\"",
        ));
    };
    if raw.get_ref().is_empty() {
        return Err(ctx.err(raw, "at least one listener is required"));
    }
    let mut out: Vec<ListenConfig> = Vec::new();
    let mut seen: Vec<(SocketAddr, &Str)> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for l in raw.get_ref() {
        let l = l.get_ref();
        let text = l.address.get_ref();
        if text.starts_with('/') || text.starts_with("./") || text.starts_with("../") {
            // A unix domain socket.
            let path = ctx.path(&l.address, "address")?;
            if paths.contains(&path) {
                return Err(ctx.err(&l.address, format!("listen path `{text}` repeats")));
            }
            if l.sts_only.as_ref().is_some_and(|v| *v.get_ref()) {
                return Err(ctx.err(
                    &l.address,
                    "a unix-socket listener cannot be `sts-only` (STS names a TCP port)",
                ));
            }
            paths.push(path.clone());
            let tls = tls_files(ctx, &l.tls)?;
            out.push(ListenConfig {
                address: SocketAddr::from(([127, 0, 0, 1], 0)),
                unix: Some(path),
                tor: l.tor.unwrap_or(false),
                tls,
                websocket: l.websocket.unwrap_or(false),
                proxy: l.proxy.unwrap_or(false),
                sts_only: false,
            });
            continue;
        }
        let address = ctx.check(&l.address, values::listen_address(text))?;
        for (other, other_at) in &seen {
            if let Some(why) = clash(address, *other) {
                let (line, _) = super::source::line_column(ctx.src.text, other_at.span().start);
                return Err(ctx.err(
                    &l.address,
                    format!(
                        "listen address `{}` {why} `{}` on line {line}",
                        l.address.get_ref(),
                        other_at.get_ref()
                    ),
                ));
            }
        }
        seen.push((address, &l.address));
        let tls = tls_files(ctx, &l.tls)?;
        out.push(ListenConfig {
            address,
            unix: None,
            tor: l.tor.unwrap_or(false),
            tls,
            websocket: l.websocket.unwrap_or(false),
            proxy: l.proxy.unwrap_or(false),
            sts_only: l.sts_only.as_ref().is_some_and(|v| *v.get_ref()),
        });
    }
    Ok(out)
}

/// A listener's `tls = { cert, key }`, paths resolved.
fn tls_files(ctx: &Ctx<'_>, raw: &Option<raw::RawTls>) -> Result<Option<TlsFiles>, ConfigError> {
    let Some(t) = raw else { return Ok(None) };
    Ok(Some(TlsFiles {
        cert: ctx.path(&t.cert, "tls.cert")?,
        key: ctx.path(&t.key, "tls.key")?,
    }))
}

/// Would two listeners fight over one port? Port 0 (any free port) never does.
fn clash(a: SocketAddr, b: SocketAddr) -> Option<&'static str> {
    if a.port() != b.port() || a.port() == 0 || a.is_ipv4() != b.is_ipv4() {
        None
    } else if a == b {
        Some("repeats")
    } else if a.ip().is_unspecified() || b.ip().is_unspecified() {
        Some("overlaps (the same port on all interfaces)")
    } else {
        None
    }
}
