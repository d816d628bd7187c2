//! `callsift models fetch` and `callsift models list`.

use std::path::PathBuf;

use callsift::models::{self, WeightType};

use crate::cli::ModelsCommand;

pub fn run(command: ModelsCommand, quiet: bool) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch {
            name,
            weights,
            force,
            dir,
        } => fetch(&name, &weights, force, dir, quiet),
        ModelsCommand::List { dir } => list(dir),
    }
}

fn fetch(
    name: &str,
    weights: &str,
    force: bool,
    dir: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    let wtype = WeightType::parse(weights)
        .ok_or_else(|| anyhow::anyhow!("unknown --weights {weights:?}\nhint: use f16 or q8_0"))?;
    // the names `--model` takes work here too: `tiny.en-q8_0` is tiny.en in q8_0
    let (name, named) = models::split_name(name);
    let wtype = if named == WeightType::F16 {
        wtype
    } else {
        named
    };
    let dir = dir.unwrap_or_else(models::default_dir);
    let out = models::fetch(name, wtype, &dir, force, &mut |line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    if quiet {
        return Ok(());
    }
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
    Ok(())
}

/// The known models and where each is installed (printed even with --quiet).
fn list(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dirs = dir.map_or_else(models::search_dirs, |d| vec![d]);
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    println!("looking in, first match wins: {}", shown.join(", "));
    println!("{:<24} {:>10}  status", "file", "size");
    for m in models::list(&dirs)? {
        let size = m
            .size
            .map_or("-".into(), |s| format!("{:.1} MB", s as f64 / 1e6));
        let status = match m.verified {
            None => "not installed",
            Some(true) => "installed, verified",
            Some(false) => "installed, CHECKSUM MISMATCH",
        };
        let at = m
            .path
            .map(|p| format!(" ({})", p.display()))
            .unwrap_or_default();
        println!("{:<24} {:>10}  {status}{at}", m.file, size);
    }
    Ok(())
}
