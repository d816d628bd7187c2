//! Thin entry point: parse the command line, run, print errors with their causes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use callsift::analyze::rules::{self, Kind};
use callsift::models::{self, WeightType};
use callsift::pipeline;
use callsift::record::Role;
use cli::{Cli, Command, ModelsCommand, Progress, RulesCommand};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let mut msg = String::new();
            for c in &chain {
                // sources already quoted by their parent are not repeated
                if !msg.contains(c.as_str()) {
                    if !msg.is_empty() {
                        msg.push_str("\n  caused by: ");
                    }
                    msg.push_str(c);
                }
            }
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            let settings = args.into_settings()?;
            let progress = Progress::new(cli.quiet);
            let summary = pipeline::run(&settings, &progress)?;
            progress.finish();
            if !cli.quiet {
                println!(
                    "processed {} recordings ({:.2} h of audio) in {:.1} s: {} ok, {} failed",
                    summary.total,
                    summary.audio_ms as f64 / 3.6e6,
                    summary.wall.as_secs_f64(),
                    summary.ok,
                    summary.failed.len()
                );
                for p in &summary.outputs {
                    println!("wrote {}", p.display());
                }
            }
            if summary.failed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} recordings failed:", summary.failed.len());
                for f in &summary.failed {
                    let e = f.error.as_deref().unwrap_or("");
                    eprintln!("  {}: {}", f.path.display(), cli::first_line(e));
                }
                Ok(ExitCode::from(1))
            }
        }
        Command::Models(ModelsCommand::Fetch {
            name,
            weights,
            force,
            dir,
        }) => {
            let wtype = WeightType::parse(&weights).ok_or_else(|| {
                anyhow::anyhow!("unknown --weights {weights:?}\nhint: use f16 or q8_0")
            })?;
            let dir = dir.unwrap_or_else(models::default_dir);
            let quiet = cli.quiet;
            let out = models::fetch(&name, wtype, &dir, force, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })?;
            if !quiet {
                if out.already_present {
                    println!(
                        "{} is installed and verified ({})",
                        out.path.display(),
                        &out.sha256[..16]
                    );
                } else if let Some(r) = &out.report {
                    println!(
                        "wrote {} ({} tensors, {} vocabulary tokens, sha256 {})",
                        out.path.display(),
                        r.tensors.len(),
                        r.vocab_tokens,
                        &out.sha256[..16]
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Check { file }) => {
            let (rules, origin) = cli::load_rules(file.as_deref())?;
            let count = |k: Kind| rules.categories.iter().filter(|c| c.kind == k).count();
            println!(
                "{origin}: ok, {} categories ({} behaviours, {} events, {} topics)",
                rules.categories.len(),
                count(Kind::Behaviour),
                count(Kind::Event),
                count(Kind::Topic)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules(RulesCommand::Test { file, text, role }) => {
            let (rules, _) = cli::load_rules(file.as_deref())?;
            let mut lines = rules::fixture(&text);
            if let Some(r) = role {
                for l in &mut lines {
                    l.0 = match r {
                        cli::RoleArg::Agent => Role::Agent,
                        cli::RoleArg::Customer => Role::Customer,
                    };
                }
            }
            let hits = rules::evaluate_fixture(&rules, &lines);
            if hits.is_empty() {
                println!("no category fires");
            }
            for h in &hits {
                let c = &rules.categories[h.category];
                println!(
                    "{} ({}) — {}: {:?}",
                    c.id,
                    c.kind.as_str(),
                    h.role.as_str(),
                    h.evidence
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Models(ModelsCommand::List { dir }) => {
            let dir = dir.unwrap_or_else(models::default_dir);
            println!("{:<24} {:>10}  status", "file", "size");
            for m in models::list(&dir)? {
                let size = m
                    .size
                    .map_or("-".into(), |s| format!("{:.1} MB", s as f64 / 1e6));
                let status = match m.verified {
                    None => "not installed",
                    Some(true) => "installed, verified",
                    Some(false) => "installed, CHECKSUM MISMATCH",
                };
                println!("{:<24} {:>10}  {status}", m.file, size);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
