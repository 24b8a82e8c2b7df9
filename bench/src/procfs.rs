//! Reading `/proc`: CPU time (utime + stime from `/proc/PID/stat`, and
//! per thread from `/proc/PID/task/TID/stat`) and memory (VmRSS, VmHWM
//! from `/proc/PID/status`) of the server under test and of the
//! generator itself, and the clock tick that turns CPU ticks into seconds.
//!
//! Reads files only; knows nothing of sockets or IRC.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

/// Clock ticks per second (`getconf CLK_TCK`, asked once); 100, the value
/// on every Linux, when `getconf` cannot be run.
pub fn clk_tck() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// utime + stime of a process (all its threads), in clock ticks; `None`
/// is this process.
pub fn cpu_ticks(pid: Option<u32>) -> io::Result<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    stat_ticks(Path::new(&path))
}

/// utime + stime of one `stat` file (a process's or a thread's).
fn stat_ticks(path: &Path) -> io::Result<u64> {
    let stat = std::fs::read_to_string(path)?;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields after the last ')'. utime and stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("malformed /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| -> io::Result<u64> {
        // `after` starts at field 3 (state).
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("malformed /proc stat"))
    };
    Ok(field(14)? + field(15)?)
}

/// The CPU ticks of a process's threads, added up by thread name: the
/// thread whose id is the process's (its main thread: the loop of a
/// single-loop server) is `"main"`, the others go by their `comm` (what
/// the program named them, e.g. `picoircd-worker`). A thread that ends
/// between the listing and the read is left out.
pub fn thread_ticks(pid: u32) -> io::Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let dir = entry?.path();
        let Ok(ticks) = stat_ticks(&dir.join("stat")) else {
            continue;
        };
        let name = if dir.file_name().and_then(|n| n.to_str()) == Some(&pid.to_string()) {
            "main".to_string()
        } else {
            match std::fs::read_to_string(dir.join("comm")) {
                Ok(c) => c.trim().to_string(),
                Err(_) => continue,
            }
        };
        *out.entry(name).or_insert(0) += ticks;
    }
    Ok(out)
}

/// CPU seconds per thread name from `before` to `after` (`thread_ticks`);
/// a thread that appeared in between counts from zero.
pub fn threads_since(
    after: &BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, f64> {
    let tck = clk_tck() as f64;
    after
        .iter()
        .map(|(k, &t)| {
            let t0 = before.get(k).copied().unwrap_or(0);
            (k.clone(), t.saturating_sub(t0) as f64 / tck)
        })
        .collect()
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: u32, key: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {key} in /proc/{pid}/status")))
}

/// CPU counters of the server and the generator at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub at: Instant,
    server_ticks: u64,
    self_ticks: u64,
}

/// What a phase between two snapshots cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub wall_s: f64,
    pub server_cpu_s: f64,
    pub generator_cpu_s: f64,
}

impl Snapshot {
    /// Reads both counters now.
    pub fn take(server: u32) -> io::Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            server_ticks: cpu_ticks(Some(server))?,
            self_ticks: cpu_ticks(None)?,
        })
    }

    /// The usage from `earlier` to `self`.
    pub fn since(&self, earlier: &Snapshot) -> Usage {
        let tck = clk_tck() as f64;
        Usage {
            wall_s: self.at.duration_since(earlier.at).as_secs_f64(),
            server_cpu_s: self.server_ticks.saturating_sub(earlier.server_ticks) as f64 / tck,
            generator_cpu_s: self.self_ticks.saturating_sub(earlier.self_ticks) as f64 / tck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_counters() {
        assert!(clk_tck() > 0);
        assert!(cpu_ticks(None).is_ok());
        let me = std::process::id();
        assert!(status_kib(me, "VmRSS").unwrap() > 0);
        assert!(status_kib(me, "VmHWM").unwrap() > 0);
        assert!(status_kib(me, "NoSuchKey").is_err());
        let threads = thread_ticks(me).unwrap();
        assert!(threads.contains_key("main"), "{threads:?}");
        let total: u64 = threads.values().sum();
        assert!(total <= cpu_ticks(Some(me)).unwrap() + threads.len() as u64);
    }

    #[test]
    fn thread_usage_counts_new_threads_from_zero() {
        let before = BTreeMap::from([("main".to_string(), 100), ("gone".to_string(), 5)]);
        let after = BTreeMap::from([("main".to_string(), 150), ("new".to_string(), 20)]);
        let d = threads_since(&after, &before);
        let tck = clk_tck() as f64;
        assert_eq!(d.len(), 2);
        assert!((d["main"] - 50.0 / tck).abs() < 1e-12);
        assert!((d["new"] - 20.0 / tck).abs() < 1e-12);
    }
}
