//! `osp`: sign in at the identity provider of an oidc-sts-proxy deployment (authorization
//! code with PKCE on a loopback redirect, or the device flow), then serve S3 credentials
//! from its `/.sts` to every AWS tool, refreshing without asking.
//!
//! | module | what |
//! |---|---|
//! | [`args`] | the command line (also the source of completions and the man page) |
//! | [`commands`] | login, credentials, configure-aws, status, logout |
//! | [`login`] | the two flows: [`login::loopback`] and [`login::device`] |
//! | [`credentials`] | cached STS credentials, refresh, the `/.sts` exchange, output formats |
//! | [`settings`] | directories, the config file, a profile's settings |
//! | [`store`] | tokens in the OS keyring or a private file; the profile lock |
//! | [`aws_config`] | the profile in `~/.aws/config` |
//! | [`claims`] | an ID token's claims, read without verifying |
//! | [`http`] | the transport, and `--verbose`'s request log |
//! | [`error`] | every failure's message and exit code |
//!
//! The protocol work (PKCE, discovery, authorization URL and callback, token requests and
//! answers, device flow schedule, revocation, the client-configuration document, the STS
//! exchange) is the core crate's, sans-IO; this crate does the I/O and talks to the person.

#![forbid(unsafe_code)]

mod args;
mod aws_config;
mod browser;
mod claims;
mod commands;
mod context;
mod credentials;
mod error;
mod http;
mod login;
mod progress;
mod settings;
mod store;
#[cfg(test)]
mod testutil;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::args::{Cli, Command};
use crate::context::{Context, SystemWaiter};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osp: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "osp", &mut stdout);
            return Ok(());
        }
        Command::Man { out_dir } => {
            return match out_dir {
                Some(dir) => clap_mangen::generate_to(Cli::command(), dir)
                    .map_err(|e| CliError::io(format!("writing man pages to {}", dir.display()), e)),
                None => clap_mangen::Man::new(Cli::command())
                    .render(&mut stdout)
                    .map_err(|e| CliError::io("writing the man page", e)),
            };
        }
        _ => {}
    }
    let profile = cli
        .profile
        .clone()
        .unwrap_or_else(|| settings::DEFAULT_PROFILE.to_owned());
    settings::check_profile(&profile)?;
    let http = http::Http::new(cli.verbose);
    let ctx = Context {
        http: &http,
        clock: &SystemWaiter,
        random: &oidc_sts_proxy::platform::SystemRandom,
        keyring: &store::Keyring,
        paths: settings::Paths::from_env()?,
        messages: Box::new(context::to_stderr),
        browser_available: browser::available(),
        open_browser: Box::new(browser::open),
    };
    match &cli.command {
        Command::Login(a) => commands::login(&ctx, &profile, a),
        Command::Credentials(a) => commands::credentials(&ctx, &profile, a, &mut stdout),
        Command::ConfigureAws => {
            let exe = std::env::current_exe()
                .and_then(|p| p.canonicalize())
                .map_err(|e| CliError::io("finding this executable's path", e))?;
            commands::configure_aws(&ctx, &profile, &exe)
        }
        Command::Status => commands::status(&ctx, cli.profile.as_deref(), &mut stdout),
        Command::Logout => commands::logout(&ctx, &profile),
        Command::Completions { .. } | Command::Man { .. } => Ok(()),
    }
}
