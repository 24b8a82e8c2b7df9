//! The file format as serde sees it: one struct per TOML table, every key
//! in kebab-case, unknown keys refused (`deny_unknown_fields`).
//!
//! Values checked after deserialization are wrapped in `Spanned` so that a
//! semantic error can point at the offending value; everything optional is
//! an `Option` so that `build` alone decides the defaults. Owns no policy.
//! Imports only serde and toml.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Str = Spanned<String>;
pub type Int = Spanned<i64>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    pub server: Spanned<RawServer>,
    pub listen: Option<Spanned<Vec<Spanned<RawListen>>>>,
    #[serde(default)]
    pub oper: Vec<Spanned<RawOper>>,
    #[serde(default)]
    pub oper_classes: BTreeMap<Str, Spanned<RawOperClass>>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    #[serde(default)]
    pub fakelag: RawFakelag,
    pub cloaks: Option<Spanned<RawCloaks>>,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub datastore: RawPathSection,
    #[serde(default)]
    pub history: RawPathSection,
    #[serde(default)]
    pub accounts: RawAccounts,
    #[serde(default)]
    pub logging: RawLogging,
    #[serde(default)]
    pub relaymsg: RawRelaymsg,
    #[serde(default)]
    pub websocket: RawWebsocket,
    pub sts: Option<Spanned<RawSts>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawServer {
    pub name: Str,
    pub network: Str,
    pub password: Option<Str>,
    pub motd: Option<Str>,
    pub motd_formatting: Option<bool>,
    pub bcrypt_cost: Option<Int>,
    pub trusted_proxies: Option<Vec<Str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawListen {
    pub address: Str,
    pub tls: Option<RawTls>,
    pub websocket: Option<bool>,
    pub proxy: Option<bool>,
    pub sts_only: Option<Spanned<bool>>,
    pub tor: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTls {
    pub cert: Str,
    pub key: Str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOper {
    pub name: Str,
    pub class: Str,
    pub password: Option<Str>,
    pub certfp: Option<Str>,
    pub whois_line: Option<Str>,
    pub vhost: Option<Str>,
    pub hidden: Option<bool>,
    pub modes: Option<Str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOperClass {
    pub title: Option<Str>,
    pub extends: Option<Str>,
    #[serde(default)]
    pub capabilities: Vec<Str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    pub max_clients: Option<Int>,
    pub per_ip: Option<Int>,
    pub throttle_per_minute: Option<Int>,
    pub sendq: Option<Int>,
    pub fakelag: Option<bool>,
    pub exempt: Option<Vec<Str>>,
    pub nicklen: Option<Int>,
    pub channellen: Option<Int>,
    pub topiclen: Option<Int>,
    pub awaylen: Option<Int>,
    pub kicklen: Option<Int>,
    pub chanlimit: Option<Int>,
    pub multiline_max_bytes: Option<Int>,
    pub multiline_max_lines: Option<Int>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTimeouts {
    pub registration: Option<Str>,
    pub ping: Option<Str>,
    pub ping_timeout: Option<Str>,
    pub tls_watch: Option<Str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFakelag {
    pub window: Option<Str>,
    pub burst_limit: Option<Int>,
    pub messages_per_window: Option<Int>,
    pub cooldown: Option<Str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCloaks {
    pub enabled: Option<bool>,
    pub netname: Option<Str>,
    pub secret: Option<Str>,
    pub secret_file: Option<Str>,
    pub cidr_len_ipv4: Option<Int>,
    pub cidr_len_ipv6: Option<Int>,
    pub num_bits: Option<Int>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAdmin {
    pub location1: Option<Str>,
    pub location2: Option<Str>,
    pub email: Option<Str>,
}

/// `[datastore]` and `[history]`: one `path` each.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPathSection {
    pub path: Option<Str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAccounts {
    pub registration: Option<bool>,
    pub nick_enforcement: Option<Str>,
    pub enforcement_grace: Option<Str>,
    pub max_nicks: Option<Int>,
    pub scram_iterations: Option<Int>,
    pub registrations_per_minute: Option<Int>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLogging {
    pub level: Option<Str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRelaymsg {
    pub separators: Option<Str>,
    pub available_to_chanops: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawWebsocket {
    pub allowed_origins: Option<Vec<Str>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSts {
    pub enabled: Option<Spanned<bool>>,
    pub port: Option<Int>,
    pub duration: Option<Str>,
    pub preload: Option<bool>,
}
