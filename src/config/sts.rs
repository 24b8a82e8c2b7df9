//! `[sts]` (IRCv3 Strict Transport Security) and the `sts-only`
//! listeners: the policy's keys and default, and the checks that tie the
//! policy to the `[[listen]]` entries. The advertised port must be a TLS
//! listener's (clients sent there must find TLS); an sts-only listener is
//! plaintext, on a fixed port no ordinary listener shares (its clients
//! are recognised by their local port), and needs the policy on.
//! Imports its sibling modules.

use std::time::Duration;

use toml::Spanned;

use super::build::{Ctx, RawListeners};
use super::defaults::STS_DURATION;
use super::raw::RawSts;
use super::source::line_column;
use super::{ConfigError, ListenConfig, StsConfig};

/// `[sts]`, checked against the listeners (`listen`, built from
/// `raw_listen` entry by entry, in the same order).
pub fn section(
    ctx: &Ctx<'_>,
    raw: Option<&Spanned<RawSts>>,
    raw_listen: &RawListeners,
    listen: &[ListenConfig],
) -> Result<StsConfig, ConfigError> {
    let default = RawSts::default();
    let r = raw.map_or(&default, |t| t.get_ref());
    let enabled = r.enabled.as_ref().is_some_and(|e| *e.get_ref());
    let port = match &r.port {
        None => None,
        Some(_) => Some(ctx.int(&r.port, "sts.port", 0, 1..=65_535)? as u16),
    };
    let duration = ctx.duration(&r.duration, "sts.duration", STS_DURATION, Duration::ZERO)?;
    if let (Some(at), true) = (&r.duration, duration.subsec_nanos() != 0) {
        return Err(ctx.err(
            at,
            "`sts.duration` must be whole seconds: clients are sent a number of seconds",
        ));
    }
    let entries = raw_listen
        .as_ref()
        .map_or(&[][..], |l| l.get_ref().as_slice());
    let mut only_ports: Vec<u16> = Vec::new();
    for (l, at) in listen.iter().zip(entries) {
        let Some(flag) = at.get_ref().sts_only.as_ref().filter(|f| *f.get_ref()) else {
            continue;
        };
        let port_no = l.address.port();
        if l.tls.is_some() {
            return Err(ctx.err(
                flag,
                "a listener cannot be both `tls` and `sts-only`: an sts-only listener is a plaintext port that sends clients to the TLS one",
            ));
        }
        if l.websocket {
            return Err(ctx.err(
                flag,
                "a listener cannot be both `websocket` and `sts-only`: web clients do not follow STS",
            ));
        }
        if port_no == 0 {
            return Err(ctx.err(
                flag,
                "an `sts-only` listener needs a fixed port, not 0: its clients are recognised by the port they connect to",
            ));
        }
        if !enabled {
            return Err(ctx.err(
                flag,
                "`sts-only` needs `[sts]` with `enabled = true` and the TLS `port` to send clients to",
            ));
        }
        let shared = listen
            .iter()
            .zip(entries)
            .find(|(o, _)| !o.sts_only && o.address.port() == port_no);
        if let Some((_, other)) = shared {
            let other = &other.get_ref().address;
            let (line, _) = line_column(ctx.src.text, other.span().start);
            return Err(ctx.err(
                flag,
                format!(
                    "`sts-only` listeners are told apart by their port: `{}` on line {line} uses port {port_no} too and is not sts-only",
                    other.get_ref()
                ),
            ));
        }
        if !only_ports.contains(&port_no) {
            only_ports.push(port_no);
        }
    }
    if let (true, Some(at)) = (enabled, &r.enabled) {
        let Some(p) = port else {
            return Err(ctx.err(
                at,
                "`sts.port` is required when `sts.enabled` is true: the TLS port clients are told to reconnect to",
            ));
        };
        let served = listen
            .iter()
            .any(|l| l.tls.is_some() && !l.websocket && l.address.port() == p);
        if !served {
            let port_at = r.port.as_ref().expect("a port was read");
            return Err(ctx.err(
                port_at,
                format!(
                    "`sts.port` {p} is not the port of a TLS listener: clients sent there would fail to connect; add a [[listen]] with `tls` on port {p}"
                ),
            ));
        }
    }
    Ok(StsConfig {
        enabled,
        port,
        duration,
        preload: r.preload.unwrap_or(false),
        only_ports,
    })
}
