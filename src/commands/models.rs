//! `callsift models fetch` and `callsift models list`.

use std::path::{Path, PathBuf};

use callsift::models::{self, SearchDir, WeightType};

use crate::cli::ModelsCommand;

pub fn run(command: ModelsCommand, quiet: bool) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch {
            name,
            weights,
            force,
            dir,
        } => fetch(&name, &weights, force, dir, quiet),
        ModelsCommand::List { dir } => list(dir.as_deref()),
    }
}

fn fetch(
    name: &str,
    weights: &str,
    force: bool,
    dir: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    if name == models::embedder::NAME {
        return fetch_embedder(force, dir, quiet);
    }
    if name == models::diarizer::NAME {
        return fetch_diarizer(force, dir, quiet);
    }
    let wtype = WeightType::parse(weights)
        .ok_or_else(|| anyhow::anyhow!("unknown --weights {weights:?}\nhint: use f16 or q8_0"))?;
    // the names `--model` takes work here too: `tiny.en-q8_0` is tiny.en in q8_0
    let (name, named) = models::split_name(name);
    let wtype = if named == WeightType::F16 {
        wtype
    } else {
        named
    };
    models::spec(name)?;
    let dir = models::install_dir(&models::search_dirs(dir.as_deref()))?;
    if !quiet {
        eprintln!("installing into {}", dir.display());
    }
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

/// The embedding models (sentence, speaker): each installs itself and returns where it is and
/// the id of its weights.
type FetchFn =
    fn(&Path, bool, &mut dyn FnMut(&str)) -> Result<(PathBuf, String), models::ModelError>;

fn fetch_embedder(force: bool, dir: Option<PathBuf>, quiet: bool) -> anyhow::Result<()> {
    fetch_installed(force, dir, quiet, |dir, force, progress| {
        models::embedder::fetch(dir, force, progress).map(|e| (e.dir, e.id))
    })
}

fn fetch_diarizer(force: bool, dir: Option<PathBuf>, quiet: bool) -> anyhow::Result<()> {
    fetch_installed(force, dir, quiet, |dir, force, progress| {
        models::diarizer::fetch(dir, force, progress).map(|d| (d.path, d.id))
    })
}

/// Install one of the embedding models into the install folder, saying where and what.
fn fetch_installed(
    force: bool,
    dir: Option<PathBuf>,
    quiet: bool,
    fetch: FetchFn,
) -> anyhow::Result<()> {
    let dir = models::install_dir(&models::search_dirs(dir.as_deref()))?;
    if !quiet {
        eprintln!("installing into {}", dir.display());
    }
    let (path, id) = fetch(&dir, force, &mut |line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    if !quiet {
        println!("{} is installed and verified ({id})", path.display());
    }
    Ok(())
}

/// What a searched folder holds, in words.
fn holds(d: &SearchDir, first: &[SearchDir]) -> String {
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    if let Some(k) = first.iter().position(|e| same(&e.dir, &d.dir)) {
        return format!("the same folder as {}", k + 1);
    }
    let Ok(rd) = std::fs::read_dir(&d.dir) else {
        return "no such folder".into();
    };
    let mut found: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ggml-") && n.ends_with(".bin"))
        .collect();
    found.sort();
    if found.is_empty() {
        "no models".into()
    } else {
        found.join(", ")
    }
}

/// Where models are looked for and what each folder holds, then the known models and where
/// each is found (printed even with --quiet).
fn list(dir: Option<&Path>) -> anyhow::Result<()> {
    let dirs = models::search_dirs(dir);
    println!("models are looked for in these folders, in order (the first holding the file wins):");
    for (k, d) in dirs.iter().enumerate() {
        println!(
            "  {}. {} ({}): {}",
            k + 1,
            d.dir.display(),
            d.origin,
            holds(d, &dirs[..k])
        );
    }
    match models::install_dir(&dirs) {
        Ok(d) => println!("`callsift models fetch` installs into {}", d.display()),
        Err(_) => println!("`callsift models fetch` finds none of them writable"),
    }
    println!();
    println!("{:<24} {:>10}  status", "file", "size");
    for m in models::list(&dirs)? {
        let size = m
            .size
            .map_or("-".into(), |s| format!("{:.1} MB", s as f64 / 1e6));
        let status = match m.verified {
            None => "not installed",
            Some(true) => "installed, verified",
            Some(false) if !m.recorded => "installed, no recorded checksum",
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
