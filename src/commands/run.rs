//! `callsift run`: recordings in, the dataset's Parquet tables out.

use std::process::ExitCode;

use callsift::analyze::metrics::MetricParams;
use callsift::downstream::sample::printable;
use callsift::models;
use callsift::pipeline::{self, Summary};
use callsift::settings::{self, CpuEnv, Roles, RunSettings, Shard};

use super::printable_first_line;
use super::progress::Progress;
use crate::cli::{ChannelArg, DiarizeArg, RolesArg, RunArgs};

/// Exit code 1 when some recordings failed (their error rows are written all the same).
pub fn run(args: RunArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    super::wait_policy::ensure_passive();
    let settings = into_settings(args)?;
    let progress = Progress::new(quiet);
    let summary = pipeline::run(&settings, &progress)?;
    progress.finish();
    if !quiet {
        print_summary(&settings, &summary)?;
    }
    if summary.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} recordings failed:", summary.failed.len());
    for f in &summary.failed {
        // file names may hold terminal escape sequences
        let path = printable(&f.path.display().to_string());
        let e = f.error.as_deref().unwrap_or("");
        eprintln!("  {path}: {}", printable_first_line(e));
    }
    Ok(ExitCode::from(1))
}

/// The run's settings, checked before any audio is read.
fn into_settings(a: RunArgs) -> anyhow::Result<RunSettings> {
    let dirs = models::search_dirs(a.models_dir.as_deref());
    let rules = settings::load_rules(a.rules.as_deref())?;
    let shard = match &a.shard {
        Some(v) => Shard::parse(v, "--shard")?,
        None => Shard::from_env(|k| std::env::var(k).ok())?.unwrap_or_default(),
    };
    let model = models::resolve(&a.model, &dirs)?;
    let semantic = if a.semantic || a.semantic_heads.is_some() {
        Some(settings::semantic_settings(
            a.semantic_heads.as_deref(),
            a.rules.is_some(),
            &dirs,
        )?)
    } else {
        None
    };
    let cpu_env = CpuEnv::read();
    let cpus = settings::granted_cpus(&cpu_env);
    let cores = cpu_env.online.unwrap_or(cpus.cpus);
    let s = RunSettings {
        inputs: a.inputs,
        manifest: a.manifest,
        out_dir: a.out,
        model,
        language: a.language,
        beam_size: a.beam_size,
        full_context: a.full_context,
        jobs: a.jobs,
        threads: a.threads,
        cores,
        cpus,
        roles: match (a.agent_channel, a.roles) {
            (Some(ChannelArg::Left), _) | (None, RolesArg::LeftAgent) => Roles::LeftAgent,
            (Some(ChannelArg::Right), _) | (None, RolesArg::RightAgent) => Roles::RightAgent,
            (None, RolesArg::Auto) => Roles::Auto,
        },
        diarize: matches!(a.diarize, DiarizeArg::Auto)
            .then(|| settings::DiarizeSettings { dirs: dirs.clone() }),
        metrics: MetricParams {
            non_talk_min_ms: a.non_talk_min_ms,
            hold_min_ms: a.hold_min_ms,
            ..MetricParams::default()
        },
        redact_pii: !a.no_redact_pii,
        rules: std::sync::Arc::new(rules.rules),
        rules_source: rules.source,
        rules_sha256: rules.sha256,
        semantic,
        shard,
        force: a.force,
        commit_every: a.commit_every as usize,
        watchdog: settings::watchdog_limits(a.watchdog_base, a.watchdog_factor)?,
    };
    s.validate()?;
    Ok(s)
}

fn print_summary(s: &RunSettings, summary: &Summary) -> anyhow::Result<()> {
    if s.shard.count > 1 {
        println!(
            "shard {}/{} (from {}): {} of {} inputs",
            s.shard.index, s.shard.count, s.shard.origin, summary.in_shard, summary.inputs
        );
    }
    if summary.total > 0 {
        // the same pure plan the pipeline used for these files
        println!("plan: {}", s.plan(summary.total)?);
    }
    println!(
        "processed {} recordings ({:.2} h of audio) in {:.1} s: {} ok, {} failed; {} unchanged skipped, {} replaced",
        summary.total,
        summary.audio_ms as f64 / 3.6e6,
        summary.wall.as_secs_f64(),
        summary.ok,
        summary.failed.len(),
        summary.skipped,
        summary.replaced,
    );
    if summary.uncertain_roles > 0 {
        println!(
            "{} calls with uncertain roles (role_confidence below {}): who is the agent there is a guess; `callsift sample` flags them (uncertain_roles) for a person to check",
            summary.uncertain_roles,
            callsift::analyze::roles::CONFIDENT
        );
    }
    if summary.taken_by_other_runs > 0 {
        println!(
            "{} recordings left to another run processing them now (same dataset)",
            summary.taken_by_other_runs
        );
    }
    if summary.duplicates_repaired > 0 {
        println!(
            "{} recordings held twice in the dataset were redone to one row each",
            summary.duplicates_repaired
        );
    }
    println!(
        "run {}: {} part files under {}",
        summary.run_id,
        summary.outputs.len(),
        s.out_dir.display()
    );
    Ok(())
}
