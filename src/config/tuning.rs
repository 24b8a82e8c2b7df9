//! The tuning sections: `[limits]`, `[timeouts]`, `[fakelag]` and
//! `[cloaks]`, with their ranges, and the cloak key read (or made) here.
//! Imports `limits` and its sibling modules.

use std::time::Duration;

use toml::Spanned;

use super::build::Ctx;
use super::defaults::*;
use super::raw;
use super::secret::{self, Secret};
use super::values;
use super::{CloakConfig, ConfigError, FakelagConfig, LimitsConfig, TimeoutsConfig};
use crate::limits;

pub fn limits_section(ctx: &Ctx<'_>, raw: &raw::RawLimits) -> Result<LimitsConfig, ConfigError> {
    let mut exempt = Vec::new();
    for at in raw.exempt.iter().flatten() {
        exempt.push(ctx.check(at, values::ip_net(at.get_ref()))?);
    }
    let max = limits::SENDQ_MAX as i64;
    Ok(LimitsConfig {
        max_clients: ctx.usize(
            &raw.max_clients,
            "limits.max-clients",
            MAX_CLIENTS,
            1..=1_000_000,
        )?,
        per_ip: ctx.usize(&raw.per_ip, "limits.per-ip", PER_IP, 0..=1_000_000)?,
        throttle_per_minute: ctx.usize(
            &raw.throttle_per_minute,
            "limits.throttle-per-minute",
            THROTTLE_PER_MINUTE,
            0..=1_000_000,
        )?,
        sendq: ctx.usize(
            &raw.sendq,
            "limits.sendq",
            SENDQ,
            limits::BODY_MAX as i64..=max,
        )?,
        fakelag: raw.fakelag.unwrap_or(true),
        exempt,
        nicklen: ctx.usize(&raw.nicklen, "limits.nicklen", NICKLEN, 1..=64)?,
        channellen: ctx.usize(&raw.channellen, "limits.channellen", CHANNELLEN, 2..=64)?,
        topiclen: ctx.usize(&raw.topiclen, "limits.topiclen", TOPICLEN, 1..=TEXT_MAX)?,
        awaylen: ctx.usize(&raw.awaylen, "limits.awaylen", AWAYLEN, 1..=TEXT_MAX)?,
        kicklen: ctx.usize(&raw.kicklen, "limits.kicklen", KICKLEN, 1..=TEXT_MAX)?,
        chanlimit: ctx.usize(&raw.chanlimit, "limits.chanlimit", CHANLIMIT, 1..=1_000)?,
        // A batch is held in memory until it closes: the bounds keep one
        // client's open batch small on a Pi.
        multiline_max_bytes: ctx.usize(
            &raw.multiline_max_bytes,
            "limits.multiline-max-bytes",
            MULTILINE_MAX_BYTES,
            512..=65_536,
        )?,
        multiline_max_lines: ctx.usize(
            &raw.multiline_max_lines,
            "limits.multiline-max-lines",
            MULTILINE_MAX_LINES,
            1..=1_000,
        )?,
    })
}

pub fn timeouts(ctx: &Ctx<'_>, raw: &raw::RawTimeouts) -> Result<TimeoutsConfig, ConfigError> {
    let second = Duration::from_secs(1);
    let registration = ctx.duration(
        &raw.registration,
        "timeouts.registration",
        REGISTRATION_TIMEOUT,
        second,
    )?;
    let ping = ctx.duration(&raw.ping, "timeouts.ping", PING, second)?;
    let ping_timeout = ctx.duration(
        &raw.ping_timeout,
        "timeouts.ping-timeout",
        PING_TIMEOUT,
        second,
    )?;
    if ping_timeout <= ping {
        let message = format!(
            "`timeouts.ping-timeout` ({}) must be longer than `timeouts.ping` ({}), to leave the client time to answer the PING",
            values::format_duration(ping_timeout),
            values::format_duration(ping)
        );
        return Err(match (&raw.ping_timeout, &raw.ping) {
            (Some(at), _) | (None, Some(at)) => ctx.err(at, message),
            (None, None) => ctx.src.error_at_top(message),
        });
    }
    let tls_watch = ctx.duration(
        &raw.tls_watch,
        "timeouts.tls-watch",
        TLS_WATCH,
        Duration::ZERO,
    )?;
    Ok(TimeoutsConfig {
        registration,
        ping,
        ping_timeout,
        tls_watch,
    })
}

pub fn fakelag(
    ctx: &Ctx<'_>,
    raw: &raw::RawFakelag,
    enabled: bool,
) -> Result<FakelagConfig, ConfigError> {
    let ms = Duration::from_millis(1);
    Ok(FakelagConfig {
        enabled,
        window: ctx.duration(&raw.window, "fakelag.window", FAKELAG_WINDOW, ms)?,
        burst_limit: ctx.int(
            &raw.burst_limit,
            "fakelag.burst-limit",
            FAKELAG_BURST,
            1..=1_000,
        )? as u32,
        messages_per_window: ctx.int(
            &raw.messages_per_window,
            "fakelag.messages-per-window",
            FAKELAG_PER_WINDOW,
            1..=1_000,
        )? as u32,
        cooldown: ctx.duration(
            &raw.cooldown,
            "fakelag.cooldown",
            FAKELAG_COOLDOWN,
            Duration::ZERO,
        )?,
    })
}

pub fn cloaks(
    ctx: &Ctx<'_>,
    raw: Option<&Spanned<raw::RawCloaks>>,
) -> Result<CloakConfig, ConfigError> {
    let default = raw::RawCloaks::default();
    let c = raw.map_or(&default, |r| r.get_ref());
    let enabled = c.enabled.unwrap_or(true);
    let netname = match &c.netname {
        None => CLOAK_NETNAME.to_string(),
        Some(at) => {
            ctx.check(
                at,
                values::server_name(&format!("x.{}", at.get_ref())).map_err(|_| {
                    format!(
                        "invalid cloak netname `{}`: use letters, digits, `-` and `.`",
                        at.get_ref()
                    )
                }),
            )?;
            at.get_ref().clone()
        }
    };
    let secret = match (&c.secret, enabled) {
        (Some(at), _) => {
            if at.get_ref().is_empty() {
                return Err(ctx.err(
                    at,
                    "`cloaks.secret` must not be empty (or leave it out to use `secret-file`)",
                ));
            }
            at.get_ref().as_bytes().to_vec()
        }
        // Disabled cloaks need no key: no file is read or made.
        (None, false) => Vec::new(),
        (None, true) => {
            let path =
                ctx.state_path_or(&c.secret_file, "cloaks.secret-file", CLOAK_SECRET_FILE)?;
            match secret::read_or_create(&path, ctx.create_files) {
                Ok(Secret::Key(key)) => key,
                Ok(Secret::Missing) => Vec::new(),
                Err(message) => {
                    return Err(match (&c.secret_file, raw) {
                        (Some(at), _) => ctx.err(at, message),
                        (None, Some(table)) => ctx.err(table, message),
                        (None, None) => ctx.src.error_at_top(message),
                    })
                }
            }
        }
    };
    Ok(CloakConfig {
        enabled,
        netname,
        secret,
        cidr_len_ipv4: ctx.int(
            &c.cidr_len_ipv4,
            "cloaks.cidr-len-ipv4",
            CLOAK_CIDR_V4,
            0..=32,
        )? as u8,
        cidr_len_ipv6: ctx.int(
            &c.cidr_len_ipv6,
            "cloaks.cidr-len-ipv6",
            CLOAK_CIDR_V6,
            0..=128,
        )? as u8,
        num_bits: ctx.int(&c.num_bits, "cloaks.num-bits", CLOAK_BITS, 8..=256)? as u32,
    })
}
