//! Thin entry point: parse the command line, run, print errors with their causes.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use callsift::analyze::rules::{self, Kind};
use callsift::conversation::Role;
use callsift::models::{self, WeightType};
use callsift::pipeline;
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

/// The OpenMP wait policy a run uses unless the user set one (benches/RESULTS.md, issue 20).
/// ggml's thread teams come from libgomp, whose default spins at every barrier: when another
/// job takes one of the two cores, the spinning thread burns the time slices its partner needs
/// and a run takes 10–25× longer. Passive waiting sleeps instead.
const OMP_WAIT_POLICY: &str = "passive";

/// libgomp reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` when the program is loaded, before
/// `main`, so setting them now is too late: run this program again with the policy set, once
/// (the variable being set is what stops a second round). Returns only if that fails (then the
/// run goes on with libgomp's default).
#[cfg(unix)]
fn reexec_with_wait_policy() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return e,
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
        .exec()
}

/// Whether the user left libgomp's waiting to us.
#[cfg(unix)]
fn wait_policy_unset() -> bool {
    ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"]
        .iter()
        .all(|v| std::env::var_os(v).is_none())
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            #[cfg(unix)]
            if wait_policy_unset() {
                let e = reexec_with_wait_policy();
                eprintln!(
                    "warning: cannot restart with OMP_WAIT_POLICY={OMP_WAIT_POLICY}: {e}\nhint: set it in the environment; without it a run on a busy machine can be many times slower"
                );
            }
            let settings = args.into_settings()?;
            let progress = Progress::new(cli.quiet);
            let summary = pipeline::run(&settings, &progress)?;
            progress.finish();
            if !cli.quiet {
                if settings.shard.count > 1 {
                    println!(
                        "shard {}/{} (from {}): {} of {} inputs",
                        settings.shard.index,
                        settings.shard.count,
                        settings.shard.origin,
                        summary.in_shard,
                        summary.inputs
                    );
                }
                if summary.total > 0 {
                    // the same pure plan the pipeline used for these files
                    println!("plan: {}", settings.plan(summary.total)?);
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
                    settings.out_dir.display()
                );
            }
            if summary.failed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} recordings failed:", summary.failed.len());
                for f in &summary.failed {
                    let e = f.error.as_deref().unwrap_or("");
                    // file names and decoder messages may hold terminal escape sequences
                    let path =
                        callsift::downstream::sample::printable(&f.path.display().to_string());
                    eprintln!(
                        "  {path}: {}",
                        callsift::downstream::sample::printable(cli::first_line(e))
                    );
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
            // the names `--model` takes work here too: `tiny.en-q8_0` is tiny.en in q8_0
            let (name, named) = models::split_name(&name);
            let wtype = if named == WeightType::F16 {
                wtype
            } else {
                named
            };
            let dir = dir.unwrap_or_else(models::default_dir);
            let quiet = cli.quiet;
            let out = models::fetch(name, wtype, &dir, force, &mut |line| {
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
        Command::Score(args) => {
            let settings = args.into_settings()?;
            let (rep, written) = callsift::downstream::score::run(&settings)?;
            if !cli.quiet {
                print_score_report(&rep);
                for p in &written {
                    println!("wrote {}", p.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(a) => {
            let path = callsift::downstream::report::run(
                &callsift::downstream::report::ReportInputs {
                    features: a.features,
                    scores: a.scores,
                    qa: a.qa,
                    cards: a.cards,
                },
                &a.out,
            )?;
            if !cli.quiet {
                println!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scorecard(a) => {
            let (rows, written) = callsift::downstream::scorecard::run(
                &a.features,
                a.surveys.as_deref(),
                a.self_scores.as_deref(),
                callsift::downstream::Period::parse(&a.period)?,
                a.repeat_days,
                &a.out,
            )?;
            if !cli.quiet {
                let agents: std::collections::BTreeSet<(&str, &str)> = rows
                    .iter()
                    .map(|r| (r.agent_id.as_str(), r.period.as_str()))
                    .collect();
                println!("scorecards for {} agent-periods", agents.len());
                for p in &written {
                    println!("wrote {}", p.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sample(a) => {
            use callsift::downstream::sample;
            if a.per_agent == 0 || !(0.0..=1.0).contains(&a.targeted_share) {
                anyhow::bail!(
                    "--per-agent must be at least 1 and --targeted-share between 0 and 1\nhint: e.g. --per-agent 4 --targeted-share 0.5"
                );
            }
            let settings = sample::SampleSettings {
                per_agent: a.per_agent,
                period: callsift::downstream::Period::parse(&a.period)?,
                targeted_share: a.targeted_share,
                flags: sample::parse_flags(&a.flags)?,
                exclude: match &a.exclude {
                    Some(p) => sample::read_exclusions(p)?,
                    None => Default::default(),
                },
                seed: a.seed,
                keep_original_audio: a.keep_original_audio,
            };
            if a.keep_original_audio {
                eprintln!(
                    "warning: --keep-original-audio: clips keep spoken card numbers, security codes and identity data\nhint: only for sites allowed to store them; without it these spans are muted"
                );
            }
            let sum = sample::run(
                &a.features,
                a.scores.as_deref(),
                a.audio_root.as_deref(),
                &a.out,
                &settings,
            )?;
            if !cli.quiet {
                println!(
                    "picked {} calls ({} targeted, {} random) in {} agent-periods; {} clips ({:.1} s muted)",
                    sum.picked,
                    sum.targeted,
                    sum.picked - sum.targeted,
                    sum.strata,
                    sum.clips,
                    sum.muted_ms as f64 / 1000.0
                );
                for s in &sum.shortfalls {
                    println!(
                        "  {} in {}: only {} of {} calls available",
                        sample::printable(&s.agent_id),
                        sample::printable(&s.period),
                        s.available,
                        s.wanted
                    );
                }
                for p in &sum.written {
                    println!("wrote {}", sample::printable(&p.display().to_string()));
                }
            }
            for (id, e) in &sum.clip_errors {
                eprintln!(
                    "warning: no clips for {}: {}",
                    sample::printable(id),
                    sample::printable(cli::first_line(e))
                );
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
            let mut lines = rules::fixtures::fixture(&text);
            if let Some(r) = role {
                for l in &mut lines {
                    l.0 = match r {
                        cli::RoleArg::Agent => Role::Agent,
                        cli::RoleArg::Customer => Role::Customer,
                    };
                }
            }
            let hits = rules::fixtures::evaluate_fixture(&rules, &lines);
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
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// The readable summary of `callsift score` on stdout.
fn print_score_report(rep: &callsift::downstream::score::Report) {
    println!(
        "{} interactions, {} survey rows",
        rep.interactions, rep.survey_rows
    );
    for i in &rep.survey_issues {
        println!(
            "  {} survey rows skipped or partly used: {} (e.g. {})",
            i.count,
            i.kind,
            i.examples.join("; ")
        );
    }
    for (ty, r) in &rep.response_rate {
        println!(
            "response rate {ty}: {} of {} ({:.1}%)",
            r.responses,
            r.interactions,
            100.0 * r.rate
        );
    }
    let mut bias: Vec<_> = rep
        .response_bias
        .iter()
        .filter(|b| b.standardised_difference.is_some_and(|d| d.abs() >= 0.2))
        .collect();
    bias.sort_by(|a, b| {
        let d = |x: &callsift::downstream::score::BiasRow| {
            x.standardised_difference.map_or(0.0, f64::abs)
        };
        d(b).total_cmp(&d(a))
    });
    if !bias.is_empty() {
        println!("surveyed calls differ from unsurveyed ones on:");
        for b in bias.iter().take(5) {
            println!(
                "  {:<32} {} vs {} ({:+.2} sd)",
                b.feature,
                opt(b.mean_surveyed, 2),
                opt(b.mean_unsurveyed, 2),
                b.standardised_difference.unwrap_or(0.0)
            );
        }
    }
    let mut families: Vec<(&str, &str)> = rep
        .drivers
        .iter()
        .map(|d| (d.survey_type.as_str(), d.outcome.as_str()))
        .collect();
    families.dedup();
    for (ty, outcome) in families {
        let mut sig: Vec<_> = rep
            .drivers
            .iter()
            .filter(|d| d.survey_type == ty && d.outcome == outcome && d.significant)
            .collect();
        let tested = rep
            .drivers
            .iter()
            .filter(|d| d.survey_type == ty && d.outcome == outcome && d.p_value.is_some())
            .count();
        sig.sort_by_key(|d| (d.feature_type, d.rank));
        println!(
            "\ndrivers of {ty}/{outcome}: {} of {tested} tested features (q < 0.05)",
            sig.len()
        );
        if tested == 0 {
            println!("  too few answers to test: a flag needs 5 calls with and 5 without it");
        }
        if !sig.is_empty() {
            println!(
                "  {:<34} {:>8} {:>19} {:>9} {:>6}",
                "feature", "effect", "95% CI", "q", "n"
            );
        }
        for d in sig {
            println!(
                "  {:<34} {:>+8.2} [{:>8.2}, {:>8.2}] {:>9.2e} {:>6}",
                d.feature,
                d.effect.unwrap_or(0.0),
                d.ci_low.unwrap_or(0.0),
                d.ci_high.unwrap_or(0.0),
                d.q_value.unwrap_or(1.0),
                d.n
            );
        }
    }
    for (outcome, v) in &rep.models {
        println!(
            "\nmodel {outcome}: {}-fold CV AUC {}, mean predicted {:.2} vs observed {:.2}, Brier {:.3}",
            v.folds,
            opt(v.auc, 3),
            v.mean_predicted,
            v.observed_rate,
            v.brier
        );
    }
    for n in &rep.model_notes {
        println!("\nmodel: {n}");
    }
    if !rep.checklist.is_empty() {
        println!("\nQA checklist alignment:");
        for c in &rep.checklist {
            println!(
                "  {:<34} {:<32} effect {}",
                c.feature,
                c.verdict,
                opt(c.effect, 2)
            );
        }
    }
    if let Some(r) = rep.repeat_contact_rate {
        println!(
            "\nrepeat contacts: {:.1}% of calls (derived FCR {:.1}%)",
            100.0 * r,
            100.0 * (1.0 - r)
        );
    }
    if let Some(sa) = &rep.self_assessment {
        println!("\nself-assessment gap (agent self score - customer CSAT):");
        for a in &sa.per_agent {
            println!(
                "  {:<20} n={:<4} self {:.2} customer {:.2} gap {:+.2}",
                a.agent_id, a.n, a.mean_self, a.mean_customer, a.gap
            );
        }
    }
}
