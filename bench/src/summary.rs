//! `picoircd-bench summarize`: turns the per-run JSON files that
//! `scripts/bench` collected (`RUNS/<case>/<server>-<round>.json`) into
//! medians per case, server and metric, and writes `results.json` and
//! `results.md` (a Markdown table with ratios picoircd/peer and picoircd
//! against the best peer, plus the date, machine and server versions).
//! A row may also divide a case's metric by another case's, per server
//! (the mixed-capability fan-out against the plain one of the same size).
//! The `accounts` rows (issue #7) have picoircd's figures only: the peers
//! have no NickServ, so their cells and ratios stay empty.
//!
//! Files in, files out; no sockets.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::args::Summarize;
use crate::report::round;

/// Which way is better for a metric.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Lower,
    Higher,
    /// Shown for context only (absolute CPU of phases whose work differs
    /// between servers): no ratio, no verdict.
    Info,
}

/// One row of the Markdown table: a case, a metric, its label; with a
/// `base` case, the metric of `case` divided by that of `base`.
struct Row {
    case: &'static str,
    metric: &'static str,
    label: &'static str,
    better: Better,
    base: Option<&'static str>,
}

const fn row(case: &'static str, metric: &'static str, label: &'static str, better: Better) -> Row {
    Row {
        case,
        metric,
        label,
        better,
        base: None,
    }
}

/// A row of `metric` in `case` divided by `metric` in `base`, for each
/// server; only when both cases ran with the same `members`.
const fn relative(
    case: &'static str,
    base: &'static str,
    metric: &'static str,
    label: &'static str,
) -> Row {
    Row {
        case,
        metric,
        label,
        better: Info,
        base: Some(base),
    }
}

/// The NickServ case (`accounts`) and what scripts/bench measures around
/// it (`accounts-start`: the datastore file, its compactions, the start).
const ACCOUNTS_CASE: &str = "accounts";
const ACCOUNTS_START_CASE: &str = "accounts-start";

/// The case of `fanout --caps mixed` and the plain case of the same size.
const CAPS_CASE: &str = "fanout-caps-500x5";
const PLAIN_CASE: &str = "fanout-500x5";

use Better::{Higher, Info, Lower};

/// The table, in the order of the targets first.
const ROWS: &[Row] = &[
    row(
        "idle",
        "rss_bytes_per_client",
        "idle ({clients} clients, {channels} channels): RSS bytes per client",
        Lower,
    ),
    row(
        "idle",
        "server_cpu_s_per_1000_registrations",
        "idle ({clients} clients): server CPU s per 1,000 registrations",
        Lower,
    ),
    row(
        "storm",
        "server_cpu_s_per_1000_registrations",
        "storm ({clients} clients): server CPU s per 1,000 registrations",
        Lower,
    ),
    row(
        "fanout-500x5",
        "server_cpu_s_per_million_lines",
        "fanout M={members} S={senders}: server CPU s per million lines",
        Lower,
    ),
    row(
        "fanout-50x10",
        "server_cpu_s_per_million_lines",
        "fanout M={members} S={senders}: server CPU s per million lines",
        Lower,
    ),
    row(
        "fanout-500x5",
        "latency_p99_ms",
        "fanout M={members} S={senders}: p99 latency ms",
        Lower,
    ),
    row(
        "pairs-100",
        "server_cpu_s_per_million_messages",
        "pairs K={pairs}: server CPU s per million messages",
        Lower,
    ),
    row(
        CAPS_CASE,
        "server_cpu_s_per_million_lines",
        "fanout M={members} S={senders}, mixed caps: server CPU s per million lines",
        Lower,
    ),
    relative(
        CAPS_CASE,
        PLAIN_CASE,
        "server_cpu_s_per_million_lines",
        "fanout M={members} S={senders}, mixed caps: CPU per million lines ÷ the plain fanout's (same M)",
    ),
    relative(
        CAPS_CASE,
        PLAIN_CASE,
        "mean_line_bytes",
        "fanout M={members} S={senders}, mixed caps: mean bytes per delivered line ÷ the plain fanout's",
    ),
    row(
        CAPS_CASE,
        "tag_forms",
        "fanout M={members}, mixed caps: tag forms of each message (from the caps granted)",
        Info,
    ),
    row(
        CAPS_CASE,
        "caps_acked_message_tags",
        "fanout M={members}, mixed caps: clients granted message-tags (of {caps_asked_message_tags})",
        Info,
    ),
    row(
        CAPS_CASE,
        "caps_acked_server_time",
        "fanout M={members}, mixed caps: clients granted server-time (of {caps_asked_server_time})",
        Info,
    ),
    row(
        CAPS_CASE,
        "caps_acked_echo_message",
        "fanout M={members}, mixed caps: clients granted echo-message (of {caps_asked_echo_message})",
        Info,
    ),
    row(
        CAPS_CASE,
        "delivered_lines_per_s",
        "fanout M={members} S={senders}, mixed caps: delivered lines/s",
        Higher,
    ),
    row(
        CAPS_CASE,
        "latency_p99_ms",
        "fanout M={members} S={senders}, mixed caps: p99 latency ms",
        Lower,
    ),
    row(
        "idle-2000",
        "rss_bytes_per_client",
        "idle ({clients} clients, {channels} channels): RSS bytes per client",
        Lower,
    ),
    row(
        "idle-2000",
        "server_cpu_s_per_1000_registrations",
        "idle ({clients} clients): server CPU s per 1,000 registrations",
        Lower,
    ),
    row(
        "idle-2000",
        "server_cpu_s_per_1000_joins",
        "idle ({clients} clients): server CPU s per 1,000 JOINs",
        Lower,
    ),
    row(
        "idle",
        "server_cpu_s_per_1000_joins",
        "idle ({clients} clients): server CPU s per 1,000 JOINs",
        Lower,
    ),
    row(
        "idle",
        "rss_after_kib",
        "idle ({clients} clients): server RSS KiB with all clients",
        Lower,
    ),
    row(
        "storm",
        "registrations_per_s",
        "storm: registrations/s",
        Higher,
    ),
    row(
        "fanout-500x5",
        "delivered_lines_per_s",
        "fanout M={members} S={senders}: delivered lines/s",
        Higher,
    ),
    row(
        "fanout-500x5",
        "latency_p50_ms",
        "fanout M={members} S={senders}: p50 latency ms",
        Lower,
    ),
    row(
        "fanout-500x5",
        "latency_max_ms",
        "fanout M={members} S={senders}: max latency ms",
        Lower,
    ),
    row(
        "fanout-500x5",
        "peak_rss_kib",
        "fanout M={members} S={senders}: server peak RSS KiB",
        Lower,
    ),
    row(
        "fanout-500x5",
        "messages_generator_cpu_s",
        "fanout M={members} S={senders}: generator CPU s (message phase)",
        Info,
    ),
    row(
        "fanout-500x5",
        "messages_server_cpu_s",
        "fanout M={members} S={senders}: server CPU s (message phase)",
        Info,
    ),
    row(
        "fanout-50x10",
        "delivered_lines_per_s",
        "fanout M={members} S={senders}: delivered lines/s",
        Higher,
    ),
    row(
        "fanout-50x10",
        "latency_p99_ms",
        "fanout M={members} S={senders}: p99 latency ms",
        Lower,
    ),
    row(
        "fanout-5000x5",
        "server_cpu_s_per_million_lines",
        "fanout M={members} S={senders}: server CPU s per million lines",
        Lower,
    ),
    row(
        "fanout-5000x5",
        "delivered_lines_per_s",
        "fanout M={members} S={senders}: delivered lines/s",
        Higher,
    ),
    row(
        "fanout-5000x5",
        "latency_p99_ms",
        "fanout M={members} S={senders}: p99 latency ms",
        Lower,
    ),
    row(
        "fanout-500x5",
        "join_server_cpu_us_per_line",
        "JOIN fan-out, M={members}: server CPU µs per JOIN line",
        Lower,
    ),
    row(
        "fanout-5000x5",
        "join_server_cpu_us_per_line",
        "JOIN fan-out, M={members}: server CPU µs per JOIN line",
        Lower,
    ),
    row(
        "fanout-500x5",
        "quit_server_cpu_us_per_line",
        "QUIT fan-out, M={members}: server CPU µs per QUIT line",
        Lower,
    ),
    row(
        "fanout-5000x5",
        "quit_server_cpu_us_per_line",
        "QUIT fan-out, M={members}: server CPU µs per QUIT line",
        Lower,
    ),
    row(
        "fanout-5000x5",
        "peak_rss_kib",
        "fanout M={members} S={senders}: server peak RSS KiB",
        Lower,
    ),
    row(
        "pairs-100",
        "messages_per_s",
        "pairs K={pairs}: messages/s",
        Higher,
    ),
    row(
        "pairs-100",
        "latency_p99_ms",
        "pairs K={pairs}: p99 latency ms",
        Lower,
    ),
    row(
        "pairs-100",
        "messages_generator_cpu_s",
        "pairs K={pairs}: generator CPU s (message phase)",
        Info,
    ),
    row(
        "pairs-100",
        "messages_server_cpu_s",
        "pairs K={pairs}: server CPU s (message phase)",
        Info,
    ),
    row(
        ACCOUNTS_CASE,
        "registrations_per_s",
        "accounts ({accounts} NickServ registrations, {concurrency} at once): registrations/s",
        Higher,
    ),
    row(
        ACCOUNTS_CASE,
        "server_cpu_s_per_1000_registrations",
        "accounts: server CPU s per 1,000 registrations (all threads)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "loop_cpu_s_per_1000_registrations",
        "accounts: loop thread CPU s per 1,000 registrations",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "worker_cpu_s_per_1000_registrations",
        "accounts: worker thread CPU s per 1,000 registrations (bcrypt, SCRAM keys)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "store_cpu_s_per_1000_registrations",
        "accounts: datastore writer CPU s per 1,000 registrations (append, fsync)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "register_ack_p99_ms",
        "accounts: REGISTER to \"logged in\" p99 ms (queued behind {concurrency} hashes)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_idle_p99_ms",
        "accounts: probe PING round trip p99 ms, idle server (a PING every {probe_ms} ms for {baseline_ms} ms)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_idle_max_ms",
        "accounts: probe PING round trip max ms, idle server",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_register_p50_ms",
        "accounts: probe PING round trip p50 ms during the registrations",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_register_p99_ms",
        "accounts: probe PING round trip p99 ms during the registrations",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_register_max_ms",
        "accounts: probe PING round trip max ms during the registrations",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_register_generator_max_gap_ms",
        "accounts: the generator's own longest pass ms during the registrations (above 10: it was held up too)",
        Info,
    ),
    row(
        ACCOUNTS_CASE,
        "logins_per_s",
        "accounts: NS IDENTIFY logins/s ({logins}, fresh connections)",
        Higher,
    ),
    row(
        ACCOUNTS_CASE,
        "server_cpu_s_per_1000_logins",
        "accounts: server CPU s per 1,000 logins (connection included)",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_login_p99_ms",
        "accounts: probe PING round trip p99 ms during the logins",
        Lower,
    ),
    row(
        ACCOUNTS_CASE,
        "probe_login_max_ms",
        "accounts: probe PING round trip max ms during the logins",
        Lower,
    ),
    row(
        ACCOUNTS_START_CASE,
        "db_bytes",
        "accounts: ircd.db bytes with {accounts} accounts",
        Info,
    ),
    row(
        ACCOUNTS_START_CASE,
        "compactions",
        "accounts: compactions during the registrations",
        Info,
    ),
    row(
        ACCOUNTS_START_CASE,
        "last_compaction_before_bytes",
        "accounts: ircd.db bytes before the last of them",
        Info,
    ),
    row(
        ACCOUNTS_START_CASE,
        "last_compaction_after_bytes",
        "accounts: ircd.db bytes after the last of them",
        Info,
    ),
    row(
        ACCOUNTS_START_CASE,
        "empty_open_ms",
        "start, empty datastore: \"now listening on\" to \"server running\" ms",
        Lower,
    ),
    row(
        ACCOUNTS_START_CASE,
        "loaded_open_ms",
        "start with {accounts} accounts: \"now listening on\" to \"server running\" ms (the load)",
        Lower,
    ),
    row(
        ACCOUNTS_START_CASE,
        "loaded_start_to_running_ms",
        "start with {accounts} accounts: launch to \"server running\" ms",
        Lower,
    ),
];

/// The servers, picoircd first; peers in the order they are compared.
const SERVERS: &[(&str, &str)] = &[
    ("picoircd", "picoircd"),
    ("ngircd", "ngircd"),
    ("inspircd", "InspIRCd"),
];

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// case → server → metric → values over the rounds; and failed runs.
type Collected = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<f64>>>>;
/// case → the runs (server-round) that failed.
type Failed = BTreeMap<String, Vec<String>>;
/// case → the generator parameters of its runs.
type Params = BTreeMap<String, Value>;

fn collect(runs: &Path) -> io::Result<(Collected, Failed, Params)> {
    let mut data: Collected = BTreeMap::new();
    let mut failed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut params: BTreeMap<String, Value> = BTreeMap::new();
    for case in std::fs::read_dir(runs)? {
        let case = case?;
        if !case.file_type()?.is_dir() {
            continue;
        }
        let case_name = case.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(case.path())? {
            let path = file?.path();
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_some_and(|e| e == "err") {
                failed.entry(case_name.clone()).or_default().push(stem);
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let server = stem
                .rsplit_once('-')
                .map_or(stem.as_str(), |(s, _)| s)
                .to_string();
            let text = std::fs::read_to_string(&path)?;
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                failed.entry(case_name.clone()).or_default().push(stem);
                continue;
            };
            if let Some(p) = v.get("params") {
                params.insert(case_name.clone(), p.clone());
            }
            let Some(metrics) = v.get("metrics").and_then(Value::as_object) else {
                failed.entry(case_name.clone()).or_default().push(stem);
                continue;
            };
            let slot = data
                .entry(case_name.clone())
                .or_default()
                .entry(server)
                .or_default();
            for (k, m) in metrics {
                if let Some(x) = m.as_f64() {
                    slot.entry(k.clone()).or_default().push(x);
                }
            }
        }
    }
    Ok((data, failed, params))
}

/// A number for the table: 3 significant digits, thousands kept whole.
fn fmt(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 || (a >= 1.0 && x.fract() == 0.0) {
        format!("{:.0}", x)
    } else if a >= 100.0 {
        format!("{:.1}", x)
    } else if a >= 1.0 {
        format!("{:.2}", x)
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{:.3}", x)
    }
}

fn ratio_cell(pico: Option<f64>, peer: Option<f64>) -> String {
    match (pico, peer) {
        (Some(p), Some(q)) if p != 0.0 && q != 0.0 => format!("{:.2}", p / q),
        _ => "–".into(),
    }
}

pub fn run(a: &Summarize) -> io::Result<()> {
    let (data, failed, params) = collect(&a.runs)?;
    let meta: Value = match &a.meta {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p)?)
            .map_err(|e| io::Error::other(format!("{}: {e}", p.display())))?,
        None => json!({}),
    };
    let mut medians = Map::new();
    for (case, servers) in &data {
        let mut per_server = Map::new();
        for (server, metrics) in servers {
            let mut m = Map::new();
            let mut rounds = 0;
            for (k, vals) in metrics {
                rounds = rounds.max(vals.len());
                if let Some(x) = median(vals.clone()) {
                    m.insert(k.clone(), json!(round(x, 4)));
                }
            }
            m.insert("rounds".into(), json!(rounds));
            per_server.insert(server.clone(), Value::Object(m));
        }
        medians.insert(case.clone(), Value::Object(per_server));
    }
    let mut relative = Map::new();
    for r in ROWS.iter().filter(|r| r.base.is_some()) {
        let per_server: Map<String, Value> = SERVERS
            .iter()
            .filter_map(|(k, _)| {
                Some((
                    (*k).to_string(),
                    json!(round(value(&data, &params, r, k)?, 4)),
                ))
            })
            .collect();
        if !per_server.is_empty() {
            let key = format!("{}/{}:{}", r.case, r.base.unwrap_or(""), r.metric);
            relative.insert(key, Value::Object(per_server));
        }
    }
    let out = json!({
        "meta": meta,
        "params": params,
        "medians": medians,
        "relative": relative,
        "failed": failed,
    });
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(
        a.out.join("results.json"),
        serde_json::to_string_pretty(&out).map_err(io::Error::other)? + "\n",
    )?;
    std::fs::write(
        a.out.join("results.md"),
        markdown(&data, &failed, &meta, &params),
    )?;
    eprintln!(
        "picoircd-bench: wrote {} and {}",
        a.out.join("results.md").display(),
        a.out.join("results.json").display()
    );
    Ok(())
}

fn get(data: &Collected, case: &str, server: &str, metric: &str) -> Option<f64> {
    median(data.get(case)?.get(server)?.get(metric)?.clone())
}

/// The value of row `r` for `server`: the median, or for a relative row
/// the ratio of the medians (when both cases had the same `members`).
fn value(data: &Collected, params: &Params, r: &Row, server: &str) -> Option<f64> {
    let v = get(data, r.case, server, r.metric)?;
    let Some(base) = r.base else {
        return Some(v);
    };
    let members = |case: &str| params.get(case).and_then(|p| p.get("members")).cloned();
    if members(r.case).is_none() || members(r.case) != members(base) {
        return None;
    }
    let b = get(data, base, server, r.metric)?;
    (b != 0.0).then(|| v / b)
}

/// `label` with each `{param}` replaced by the case's parameter.
fn label(r: &Row, params: &BTreeMap<String, Value>) -> String {
    let mut out = r.label.to_string();
    if let Some(p) = params.get(r.case).and_then(Value::as_object) {
        for (k, v) in p {
            out = out.replace(&format!("{{{k}}}"), &v.to_string());
        }
    }
    out
}

fn markdown(
    data: &Collected,
    failed: &BTreeMap<String, Vec<String>>,
    meta: &Value,
    params: &BTreeMap<String, Value>,
) -> String {
    let s = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let mut md = String::new();
    md.push_str("# Benchmark results (scripts/bench)\n\n");
    md.push_str(&format!(
        "Date: {}. Machine: {} cores, {}, Linux {}. Rounds: {} (medians; the rounds column of results.json says how many runs each case had).\n\n",
        s("date"),
        s("nproc"),
        s("cpu"),
        s("kernel"),
        s("rounds"),
    ));
    md.push_str(&format!(
        "Servers: {}, {}, {}. Generator: picoircd-bench (one thread, mio) on the same machine.\n\n",
        s("picoircd_version"),
        s("ngircd_version"),
        s("inspircd_version"),
    ));
    md.push_str(&format!("Sizes: {}\n\n", s("sizes")));
    md.push_str("| metric | picoircd | ngircd | InspIRCd | pico/ngircd | pico/InspIRCd | pico vs best peer |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for r in ROWS {
        if !data.contains_key(r.case) {
            continue;
        }
        let vals: Vec<Option<f64>> = SERVERS
            .iter()
            .map(|(k, _)| value(data, params, r, k))
            .collect();
        let pico = vals[0];
        let peers: Vec<f64> = vals[1..].iter().flatten().copied().collect();
        let best = match r.better {
            Lower => peers.iter().copied().reduce(f64::min),
            Higher => peers.iter().copied().reduce(f64::max),
            Info => None,
        };
        let verdict = match (pico, best) {
            (Some(p), Some(b)) if p != 0.0 && b != 0.0 => {
                let wins = match r.better {
                    Lower => p <= b,
                    Higher | Info => p >= b,
                };
                format!(
                    "{} ({})",
                    ratio_cell(Some(p), Some(b)),
                    if wins { "better" } else { "worse" }
                )
            }
            _ => "–".into(),
        };
        let cell = |v: Option<f64>| v.map_or("–".to_string(), fmt);
        let (r1, r2) = if r.better == Info {
            ("–".to_string(), "–".to_string())
        } else {
            (ratio_cell(pico, vals[1]), ratio_cell(pico, vals[2]))
        };
        let runs = data
            .get(r.case)
            .and_then(|m| m.get("picoircd"))
            .and_then(|m| m.get(r.metric))
            .map_or(0, Vec::len);
        let once = if runs == 1 && s("rounds") != "1" {
            " (1 run)"
        } else {
            ""
        };
        md.push_str(&format!(
            "| {}{} | {} | {} | {} | {} | {} | {} |\n",
            label(r, params),
            once,
            cell(vals[0]),
            cell(vals[1]),
            cell(vals[2]),
            r1,
            r2,
            verdict,
        ));
    }
    md.push_str("\nRatios are picoircd / peer (below 1 is better for CPU, memory and latency; above 1 is better for rates). ");
    md.push_str("A 0 or – means the phase used less than one clock tick (10 ms) or was not run. ");
    md.push_str("CPU is utime+stime from /proc/PID/stat over the measured phase (clock ticks of 10 ms); RSS is VmRSS/VmHWM from /proc/PID/status. ");
    md.push_str(
        "The `history` scenario is skipped: CHATHISTORY waits for the history issue (#8).\n",
    );
    if data.contains_key(CAPS_CASE) {
        md.push_str("\nMixed caps (`fanout --caps mixed`, issue #5): before registering, the senders request message-tags, server-time and echo-message and the receivers, a quarter each, nothing, message-tags, server-time or both (one CAP REQ per capability; a NAKed one is done without), so a server that grants them writes four forms of each message. ");
        md.push_str("Every line received is checked for the tags its receiver was granted (msgid iff message-tags, time iff server-time, one msgid and time per message); a wrong one fails the run. ");
        md.push_str("The granted rows say what each server ACKed: a server that grants fewer writes fewer forms, so its figure is closer to a plain fan-out. ");
        md.push_str("The ÷ row is each server's mixed-caps CPU per line over its own plain fan-out of the same M (echoed lines count as delivered).\n");
    }
    if data.contains_key(ACCOUNTS_CASE) {
        md.push_str(&format!("\nAccounts (`accounts`, issue #7) run on picoircd only: ngircd and InspIRCd have no NickServ, so those rows have no peer figures and no ratios; the figures are absolute. bcrypt cost {} (`[server] bcrypt-cost` of scripts/bench-configs/picoircd.conf; the default 12 would make the registrations take about 0.25 s of a core each). ", s("bcrypt_cost")));
        md.push_str("C connections each register an account (`NS REGISTER`), then `NS LOGOUT`, `NICK <next>`, `NS REGISTER` again; one counts when NickServ says \"You're now logged in as <account>\", which picoircd sends once the account is fsynced. A probe connection sends a PING every few ms and times each PONG: alone first (idle), then through the registrations and the N/10 logins (`NS IDENTIFY` on fresh connections). ");
        md.push_str("The hashing runs on the server's worker thread, which shares the 2 cores with the loop, the datastore writer and the generator, so the probe's round trips include waiting for a core. ");
        md.push_str("The start rows come from the server's log (the state folder is fresh for each run): `now listening on` is logged before the datastore is opened, `server running` after, so the time between them is the load.\n");
    }
    if !failed.is_empty() {
        md.push_str("\nFailed runs (see the .err files of the run): ");
        let list: Vec<String> = failed
            .iter()
            .map(|(c, v)| format!("{c}: {}", v.join(", ")))
            .collect();
        md.push_str(&list.join("; "));
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_formats() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        assert_eq!(fmt(12345.6), "12346");
        assert_eq!(fmt(0.01234), "0.012");
        assert_eq!(
            (fmt(4.0), fmt(255.0), fmt(2.5)),
            ("4".into(), "255".into(), "2.50".into())
        );
        assert_eq!(ratio_cell(Some(1.0), Some(4.0)), "0.25");
        assert_eq!(ratio_cell(Some(1.0), None), "–");
        assert_eq!(ratio_cell(Some(0.0), Some(2.0)), "–");
    }

    #[test]
    fn relative_rows_divide_cases_of_the_same_size() {
        let mut data: Collected = BTreeMap::new();
        let metric = "server_cpu_s_per_million_lines";
        for (case, server, vals) in [
            (PLAIN_CASE, "picoircd", vec![0.10, 0.12, 0.08]),
            (CAPS_CASE, "picoircd", vec![0.11, 0.13, 0.12]),
            (PLAIN_CASE, "ngircd", vec![0.40]),
        ] {
            data.entry(case.into())
                .or_default()
                .entry(server.into())
                .or_default()
                .insert(metric.into(), vals);
        }
        let mut params: Params = BTreeMap::new();
        params.insert(PLAIN_CASE.into(), json!({"members": 500}));
        params.insert(CAPS_CASE.into(), json!({"members": 500, "caps": "mixed"}));
        let r = ROWS
            .iter()
            .find(|r| r.base == Some(PLAIN_CASE) && r.metric == metric)
            .expect("a relative CPU row");
        let v = value(&data, &params, r, "picoircd").unwrap();
        assert!((v - 1.2).abs() < 1e-9, "{v}");
        assert_eq!(value(&data, &params, r, "ngircd"), None, "no mixed run");
        params.insert(PLAIN_CASE.into(), json!({"members": 100}));
        assert_eq!(value(&data, &params, r, "picoircd"), None, "not the same M");
        let md = markdown(&data, &BTreeMap::new(), &json!({}), &params);
        assert!(
            md.contains("mixed caps: CPU per million lines ÷ the plain fanout's (same M) | – |")
        );
        assert!(md.contains("Mixed caps (`fanout --caps mixed`"));
    }

    #[test]
    fn accounts_rows_are_picoircd_only() {
        let mut data: Collected = BTreeMap::new();
        let pico = data
            .entry(ACCOUNTS_CASE.into())
            .or_default()
            .entry("picoircd".into())
            .or_default();
        pico.insert("registrations_per_s".into(), vec![480.0, 500.0, 490.0]);
        pico.insert("probe_register_max_ms".into(), vec![9.5, 4.0, 12.0]);
        data.entry(ACCOUNTS_START_CASE.into())
            .or_default()
            .entry("picoircd".into())
            .or_default()
            .insert("loaded_open_ms".into(), vec![31.0]);
        let mut params: Params = BTreeMap::new();
        params.insert(
            ACCOUNTS_CASE.into(),
            json!({"accounts": 10000, "concurrency": 100, "logins": 1000, "probe_ms": 5, "baseline_ms": 1000}),
        );
        params.insert(ACCOUNTS_START_CASE.into(), json!({"accounts": 10000}));
        let md = markdown(
            &data,
            &BTreeMap::new(),
            &json!({"bcrypt_cost": "4", "rounds": "3"}),
            &params,
        );
        assert!(
            md.contains("| accounts (10000 NickServ registrations, 100 at once): registrations/s | 490 | – | – | – | – | – |"),
            "{md}"
        );
        assert!(md.contains(
            "| accounts: probe PING round trip max ms during the registrations | 9.50 | – |"
        ));
        assert!(md.contains(
            "| start with 10000 accounts: \"now listening on\" to \"server running\" ms (the load) (1 run) | 31 |"
        ));
        assert!(md.contains("no NickServ") && md.contains("bcrypt cost 4"));
        // A metric the runs lack shows as –; rows of cases that did not run are left out.
        assert!(md.contains("| accounts: NS IDENTIFY logins/s (1000, fresh connections) | – |"));
        assert!(!md.contains("fanout M="));
    }
}
