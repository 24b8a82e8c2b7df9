//! The command-line verbs, one module each. They may use `config`, `net`
//! and `logging`; `main.rs` only parses arguments and calls `run`.

pub mod check;
pub mod genpasswd;
pub mod mkcerts;
pub mod run;
