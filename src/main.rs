use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    entra_mail::cli::run(entra_mail::cli::Cli::parse()).await
}
