//! Progress for people: a spinner on a terminal, plain lines elsewhere (CI logs).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    spinner: Option<ProgressBar>,
    quiet: bool,
    /// The tenant this progress is for, when there are several.
    label: Option<String>,
}

impl Progress {
    /// A spinner when stderr is a terminal and output is not quieted.
    pub fn new(quiet: bool) -> Self {
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            spinner,
            quiet,
            label: None,
        }
    }

    /// One tenant's line among several: a spinner in `multi` on a terminal, lines prefixed
    /// with `[label]` elsewhere.
    pub fn for_tenant(multi: &indicatif::MultiProgress, label: &str, quiet: bool) -> Self {
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            spinner,
            quiet,
            label: Some(label.to_string()),
        }
    }

    /// No output at all (library use, tests).
    pub fn silent() -> Self {
        Self {
            spinner: None,
            quiet: true,
            label: None,
        }
    }

    /// What is happening now (the spinner's message; only a log event elsewhere).
    pub fn step(&self, message: &str) {
        if let Some(bar) = &self.spinner {
            bar.set_message(message.to_string());
        }
        tracing::info!("{message}");
    }

    /// A wait the user should know about (replication, throttling): the spinner's message
    /// on a terminal, a line in CI logs.
    pub fn waiting(&self, message: &str) {
        match &self.spinner {
            Some(bar) => bar.set_message(message.to_string()),
            None if !self.quiet => eprintln!("{}{message}", self.prefix()),
            None => {}
        }
        tracing::info!("{message}");
    }

    /// A line that stays (a finished change).
    pub fn note(&self, message: &str) {
        match &self.spinner {
            Some(bar) => bar.println(message),
            None if !self.quiet => eprintln!("{}{message}", self.prefix()),
            None => {}
        }
        tracing::info!("{message}");
    }

    fn prefix(&self) -> String {
        self.label
            .as_ref()
            .map(|l| format!("[{l}] "))
            .unwrap_or_default()
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
