//! The commands, one module each: turn the clap arguments into the library's settings, call the
//! library, print the summary. Errors go back to `main`, which prints them and exits with 2.

mod models;
mod progress;
mod report;
mod review;
mod rules;
mod run;
mod sample;
mod score;
mod scorecard;
mod wait_policy;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Run the command line's command; the exit code for a command that did its work.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Run(args) => run::run(args, quiet),
        Command::Models(command) => models::run(command, quiet).map(|()| ExitCode::SUCCESS),
        Command::Rules(command) => rules::run(command).map(|()| ExitCode::SUCCESS),
        Command::Score(args) => score::run(args, quiet).map(|()| ExitCode::SUCCESS),
        Command::Sample(args) => sample::run(args, quiet).map(|()| ExitCode::SUCCESS),
        Command::Scorecard(args) => scorecard::run(args, quiet).map(|()| ExitCode::SUCCESS),
        Command::Report(args) => report::run(args, quiet).map(|()| ExitCode::SUCCESS),
        Command::Review(args) => review::run(args, quiet).map(|()| ExitCode::SUCCESS),
    }
}

/// The first line of a message (the rest of an error is for the logs and the error rows).
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The first line of an error message, made safe for the terminal: file names and decoder
/// messages may hold escape sequences.
fn printable_first_line(s: &str) -> String {
    callsift::downstream::sample::printable(first_line(s))
}
