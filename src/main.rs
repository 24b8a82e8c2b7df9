//! The command line: Oragono's verbs (`run`, `genpasswd`, `mkcerts`,
//! `check`, `version`) parsed with argh, each handed to its module.

use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;
use picoircd::cli;

/// picoircd: a small IRC server in the spirit of Ergo/Oragono.
#[derive(FromArgs)]
struct Args {
    #[argh(subcommand)]
    verb: Verb,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum Verb {
    Run(RunArgs),
    Genpasswd(GenpasswdArgs),
    Mkcerts(MkcertsArgs),
    Check(CheckArgs),
    Version(VersionArgs),
}

/// run the server in the foreground
#[derive(FromArgs)]
#[argh(subcommand, name = "run")]
struct RunArgs {
    /// the configuration file (default ./ircd.conf)
    #[argh(option, default = "PathBuf::from(\"ircd.conf\")")]
    conf: PathBuf,
}

/// read a password and print its bcrypt hash (for OPER and server.password)
#[derive(FromArgs)]
#[argh(subcommand, name = "genpasswd")]
struct GenpasswdArgs {
    /// the bcrypt cost, 4 to 31 (default 12)
    #[argh(option, default = "12")]
    cost: u32,
}

/// make self-signed certificates for TLS listeners whose files are missing
#[derive(FromArgs)]
#[argh(subcommand, name = "mkcerts")]
struct MkcertsArgs {
    /// the configuration file (default ./ircd.conf)
    #[argh(option, default = "PathBuf::from(\"ircd.conf\")")]
    conf: PathBuf,
}

/// check the configuration file and report the first error
#[derive(FromArgs)]
#[argh(subcommand, name = "check")]
struct CheckArgs {
    /// the configuration file (default ./ircd.conf)
    #[argh(option, default = "PathBuf::from(\"ircd.conf\")")]
    conf: PathBuf,
}

/// print the version
#[derive(FromArgs)]
#[argh(subcommand, name = "version")]
struct VersionArgs {}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    match args.verb {
        Verb::Run(a) => cli::run::run(&a.conf),
        Verb::Genpasswd(a) => cli::genpasswd::run(a.cost),
        Verb::Mkcerts(a) => cli::mkcerts::run(&a.conf),
        Verb::Check(a) => cli::check::run(&a.conf),
        Verb::Version(_) => {
            println!(
                "picoircd {} {}",
                env!("CARGO_PKG_VERSION"),
                env!("PICOIRCD_TARGET")
            );
            ExitCode::SUCCESS
        }
    }
}
