//! A scenario's result: one JSON object for stdout (scenario, server,
//! parameters, flat numeric metrics, notes) and a human summary for
//! stderr. `scripts/bench` takes medians of the metrics by name.
//!
//! Formatting only.

use serde_json::{json, Map, Value};

use crate::args::Target;
use crate::latency::Histogram;
use crate::pool::Counters;
use crate::procfs::{self, Usage};

/// What one scenario run measured.
pub struct Report {
    scenario: &'static str,
    target: Target,
    params: Map<String, Value>,
    metrics: Map<String, Value>,
    notes: Vec<String>,
}

impl Report {
    pub fn new(scenario: &'static str, target: &Target) -> Report {
        Report {
            scenario,
            target: target.clone(),
            params: Map::new(),
            metrics: Map::new(),
            notes: Vec::new(),
        }
    }

    pub fn param(&mut self, key: &str, value: impl Into<Value>) {
        self.params.insert(key.into(), value.into());
    }

    pub fn metric(&mut self, key: &str, value: impl Into<Value>) {
        self.metrics.insert(key.into(), value.into());
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// `<prefix>_wall_s`, `<prefix>_server_cpu_s`, `<prefix>_generator_cpu_s`.
    pub fn usage(&mut self, prefix: &str, u: &Usage) {
        self.metric(&format!("{prefix}_wall_s"), round(u.wall_s, 3));
        self.metric(&format!("{prefix}_server_cpu_s"), round(u.server_cpu_s, 3));
        self.metric(
            &format!("{prefix}_generator_cpu_s"),
            round(u.generator_cpu_s, 3),
        );
    }

    /// `<prefix>_p50_ms`, `_p99_ms`, `_max_ms`, `_mean_ms`, `_samples`.
    pub fn latency(&mut self, prefix: &str, h: &Histogram) {
        let ms = |us: f64| round(us / 1000.0, 3);
        self.metric(&format!("{prefix}_p50_ms"), ms(h.quantile(0.50) as f64));
        self.metric(&format!("{prefix}_p99_ms"), ms(h.quantile(0.99) as f64));
        self.metric(&format!("{prefix}_max_ms"), ms(h.max() as f64));
        self.metric(&format!("{prefix}_mean_ms"), ms(h.mean()));
        self.metric(&format!("{prefix}_samples"), h.count());
    }

    /// The server's current and peak RSS (`rss_kib`, `peak_rss_kib`).
    pub fn memory(&mut self, pid: u32) {
        if let Ok(v) = procfs::status_kib(pid, "VmRSS") {
            self.metric("rss_kib", v);
        }
        if let Ok(v) = procfs::status_kib(pid, "VmHWM") {
            self.metric("peak_rss_kib", v);
        }
    }

    /// The generator's connection counters.
    pub fn counters(&mut self, c: &Counters) {
        self.metric("connections", c.connects);
        self.metric("connect_errors", c.connect_errors);
        self.metric("closed_by_server", c.closed_by_server);
        self.metric("registration_retries", c.retries);
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "server": self.target.server,
            "addr": self.target.addr.to_string(),
            "pid": self.target.pid,
            "clk_tck": procfs::clk_tck(),
            "params": self.params,
            "metrics": self.metrics,
            "notes": self.notes,
        })
    }

    /// `scenario server: k=v k=v …` plus the notes, for a person.
    pub fn summary(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut s = format!(
            "{} against {} ({})\n",
            self.scenario,
            self.target.server,
            params.join(" ")
        );
        for (k, v) in &self.metrics {
            s.push_str(&format!("  {k:<40} {v}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s
    }
}

/// `x` rounded to `digits` decimals (for readable JSON).
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}
