//! The ARM builds of issue #3, run on this machine under qemu-user (Debian
//! `qemu-user`): where each cross-built binary is, the qemu command line,
//! and the guest's resident memory without qemu's own.
//!
//! Memory: qemu's own VmRSS (about 16 MB) is mostly qemu (the translator,
//! its code cache, its libraries), not the program. qemu is therefore started
//! with a fixed guest base (`-B`) and a reserved guest address space (`-R`):
//! every guest mapping then lies in [base, base + reserve), and the sum of
//! the `Rss:` lines of `/proc/<pid>/smaps` over those mappings is what the
//! program keeps resident (its text, data, heap and stacks), as on the Pi.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Launch, WAIT};

/// The host address of guest address 0 (`qemu -B`): 16 TiB, below the
/// x86_64 executable and heap (0x55..) and the mmap area (0x7e.. to
/// 0x7f..), where randomized (ASLR) libraries and qemu's code cache may
/// land. With 0x7f0000000000 an unlucky layout made qemu refuse to start
/// now and then ("requires virtual address space that is in use").
pub const GUEST_BASE: u64 = 0x1000_0000_0000;

/// The guest address space a 32-bit guest reserves (`qemu -R`): all of it
/// but the last page. qemu refuses 4 GiB, and anything below 0xffff1000
/// leaves out the ARM commpage at 0xffff0000 (qemu then aborts).
const RESERVE_32: u64 = 0xffff_f000;

/// A cross build and how to run it.
pub struct Target {
    /// The name `cross/build` takes.
    pub arch: &'static str,
    /// The Rust target triple, which `picoircd version` prints.
    pub triple: &'static str,
    /// The qemu-user program and CPU model (the oldest Pi of the family).
    pub qemu: &'static [&'static str],
    /// The guest address space reserved with `qemu -R`, in bytes.
    pub reserve: u64,
    /// The command that builds the binary without `cross/build`.
    pub build: &'static str,
}

/// Pi 3, 4, 5 and Zero 2 with a 64-bit OS; cortex-a53 is the Pi 3's core.
pub const AARCH64: Target = Target {
    arch: "aarch64",
    triple: "aarch64-unknown-linux-musl",
    qemu: &["qemu-aarch64", "-cpu", "cortex-a53"],
    reserve: 1 << 32,
    build: "cargo zigbuild --release --locked --target aarch64-unknown-linux-musl",
};

/// Pi 2 (cortex-a7) and later with a 32-bit OS.
pub const ARMV7: Target = Target {
    arch: "armv7",
    triple: "armv7-unknown-linux-musleabihf",
    qemu: &["qemu-arm", "-cpu", "cortex-a7"],
    reserve: RESERVE_32,
    build: "RUSTC_BOOTSTRAP=1 RUSTFLAGS=\"-C link-self-contained=no\" cargo zigbuild \
            --release --locked -Z build-std=std,panic_abort \
            --target armv7-unknown-linux-musleabihf",
};

/// Pi 1 and Zero (ARM1176JZF-S).
pub const ARMV6: Target = Target {
    arch: "armv6",
    triple: "arm-unknown-linux-musleabihf",
    qemu: &["qemu-arm", "-cpu", "arm1176"],
    reserve: RESERVE_32,
    build: "RUSTC_BOOTSTRAP=1 RUSTFLAGS=\"-C link-self-contained=no \
            -C target-cpu=arm1176jzf-s\" cargo zigbuild --release --locked \
            -Z build-std=std,panic_abort --target arm-unknown-linux-musleabihf",
};

impl Target {
    /// The release binary, `target/<triple>/release/picoircd`; panics
    /// (the test fails) with the command that builds it when it is missing.
    pub fn binary(&self) -> PathBuf {
        let path = target_dir()
            .join(self.triple)
            .join("release")
            .join("picoircd");
        assert!(
            path.is_file(),
            "missing {}: build it with `cross/build {}`, or: {}",
            path.display(),
            self.arch,
            self.build,
        );
        path
    }

    /// qemu and its arguments, to put before the binary; panics when this
    /// qemu is not installed.
    pub fn wrapper(&self) -> Vec<String> {
        let found = Command::new(self.qemu[0])
            .arg("-version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "{} not found: apt-get install qemu-user",
            self.qemu[0]
        );
        let mut argv: Vec<String> = self.qemu.iter().map(|s| s.to_string()).collect();
        argv.extend([
            "-B".to_string(),
            format!("{GUEST_BASE:#x}"),
            "-R".to_string(),
            format!("{:#x}", self.reserve),
        ]);
        argv
    }

    /// How `TestServer::launch` starts this build under qemu.
    pub fn launch(&self) -> Launch {
        Launch {
            binary: Some(self.binary()),
            wrapper: self.wrapper(),
            ..Launch::default()
        }
    }

    /// What `picoircd version` prints under qemu (trimmed).
    pub fn version(&self) -> String {
        let argv = self.wrapper();
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .arg(self.binary())
            .arg("version")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn qemu");
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for qemu") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{} version` did not exit within {WAIT:?}", self.arch);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read stdout");
        assert!(status.success(), "`{} version`: {status}", self.arch);
        out.trim().to_string()
    }

    /// The guest's resident memory in KiB: `Rss:` summed over the mappings
    /// of qemu process `pid` that start in the guest's address space.
    pub fn guest_rss_kib(&self, pid: u32) -> u64 {
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).expect("smaps");
        rss_in_range(&smaps, GUEST_BASE, GUEST_BASE + self.reserve)
    }
}

/// Cargo's target folder: two levels above this test build's `picoircd`
/// (`target/debug/picoircd`).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_picoircd"))
        .ancestors()
        .nth(2)
        .expect("target dir")
        .to_path_buf()
}

/// Sums the `Rss:` (KiB) of the smaps mappings starting in [lo, hi).
fn rss_in_range(smaps: &str, lo: u64, hi: u64) -> u64 {
    let mut inside = false;
    let mut kib = 0;
    for line in smaps.lines() {
        if let Some(v) = line.strip_prefix("Rss:") {
            if inside {
                kib += v
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .expect("Rss");
            }
        } else if let Some((start, _)) = line.split_once('-') {
            // A mapping header: "7f0000010000-7f000002f000 r--p ...";
            // what precedes a '-' in a field line is never hexadecimal.
            if let Ok(start) = u64::from_str_radix(start, 16) {
                inside = (lo..hi).contains(&start);
            }
        }
    }
    kib
}
