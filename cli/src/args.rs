//! The command line, defined once: parsing, `osp completions` and `osp man` all come from
//! these definitions.

use clap::{Args, Parser, Subcommand};

use crate::credentials::Format;
use crate::settings::TokenStoreChoice;

#[derive(Debug, Parser)]
#[command(
    name = "osp",
    version,
    about = "Sign in at your identity provider and get S3 credentials from an oidc-sts-proxy deployment",
    long_about = "Sign in at your identity provider (authorization code with PKCE in the browser, or a device code) \
and serve temporary S3 credentials from an oidc-sts-proxy deployment to the AWS CLI, boto3, rclone, GDAL, DuckDB \
and every other AWS tool, refreshing them without asking again.\n\n\
Example:\n$ osp login https://data.example.com\n$ osp configure-aws\n$ aws s3 ls s3://demo/\n\n\
Tokens are kept in the OS keyring when one is available, else in a file only you can read.",
    after_help = "Exit status: 0 success, 1 failure, 2 usage error, 3 a new `osp login` is needed."
)]
pub struct Cli {
    /// The profile: a set of settings and tokens, and the AWS profile `configure-aws` writes.
    #[arg(long, short = 'p', global = true, env = "OSP_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// Log every request (method, URL, parameter names, status; never a token) to stderr.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in (browser, or device code) and keep the tokens.
    Login(LoginArgs),
    /// Print S3 credentials for a tool; never interactive (refreshes, or asks you to log in).
    Credentials(CredentialsArgs),
    /// Write the AWS profile (credential_process, endpoint_url, region, path-style) to ~/.aws/config.
    ConfigureAws,
    /// Show who is signed in, at which identity provider, and until when (every profile, or --profile).
    Status,
    /// Revoke the refresh token at the identity provider and delete the local tokens and credentials.
    Logout,
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write osp.1 and one page per command to a directory.
    Man {
        /// Write the pages into this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The deployment's URL (its client configuration is read from /.well-known/oidc-sts-proxy-client).
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    /// Use the device flow: a code to enter on any device (automatic when no browser can be shown).
    #[arg(long, conflicts_with = "no_browser")]
    pub device: bool,

    /// Do not open a browser: print the sign-in URL to open on this machine.
    #[arg(long)]
    pub no_browser: bool,

    /// Send no PKCE parameters (only for an identity provider that refuses them).
    #[arg(long)]
    pub no_pkce: bool,

    /// Seconds to wait for the browser sign-in.
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Override the identity provider (issuer URL).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// Override the client id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Override the scopes (space-separated).
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,

    /// Override the STS endpoint.
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// Override the S3 endpoint.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Override the region.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Where to keep the tokens.
    #[arg(long, value_enum, value_name = "STORE", env = "OSP_TOKEN_STORE")]
    pub token_store: Option<TokenStoreChoice>,
}

#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "process")]
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn device_and_no_browser_exclude_each_other() {
        assert!(Cli::try_parse_from(["osp", "login", "--device", "--no-browser"]).is_err());
        let cli = Cli::try_parse_from(["osp", "--profile", "w", "login", "https://d.example", "--no-pkce"]).unwrap();
        assert_eq!(cli.profile.as_deref(), Some("w"));
        match cli.command {
            Command::Login(a) => assert!(a.no_pkce && a.url.as_deref() == Some("https://d.example")),
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["osp", "credentials", "--format", "env", "-p", "x"]).unwrap();
        assert_eq!(cli.profile.as_deref(), Some("x"), "--profile after the command too");
    }
}
