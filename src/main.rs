//! Thin entry point: parse the command line, run the command (`commands`), print errors with
//! their causes. Exit codes: 0 done, 1 some recordings failed, 2 usage or configuration error.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match commands::dispatch(cli::Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            ExitCode::from(2)
        }
    }
}

/// The error, then each cause not already quoted by the one before on its own line.
fn error_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for c in e.chain().map(|c| c.to_string()) {
        if !msg.contains(c.as_str()) {
            if !msg.is_empty() {
                msg.push_str("\n  caused by: ");
            }
            msg.push_str(&c);
        }
    }
    msg
}
