use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    match entra_mail::cli::Cli::try_parse() {
        Ok(cli) => entra_mail::cli::run(cli).await,
        // Usage errors exit 1, not clap's 2: `plan` uses 2 for "changes pending".
        Err(error) => {
            let code = if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
            let _ = error.print();
            code
        }
    }
}
