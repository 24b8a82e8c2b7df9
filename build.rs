//! Build script: records the target triple, so that `picoircd version`
//! says which build it is (`aarch64-unknown-linux-musl`, ...).

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=PICOIRCD_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
