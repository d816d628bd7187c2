//! `callsift score`: features against survey outcomes, and its readable summary on stdout.

use callsift::downstream::emerging::{self, EmergingSettings, Theme};
use callsift::downstream::sample::printable;
use callsift::downstream::score::{self, BiasRow, DriverRow, Report, ScoreSettings};
use callsift::embed::MiniLm;
use callsift::models;

use super::printable_first_line;
use crate::cli::ScoreArgs;

pub fn run(a: ScoreArgs, quiet: bool) -> anyhow::Result<()> {
    let (emerging, models_dir) = (a.emerging, a.models_dir.clone());
    let settings = into_settings(a)?;
    // the model is checked before anything is computed
    let model = match emerging {
        true => {
            let found = models::embedder::resolve(&models::search_dirs(models_dir.as_deref()))?;
            Some(MiniLm::load(&found.dir, &found.id)?)
        }
        false => None,
    };
    let (rep, mut written) = score::run(&settings)?;
    let themes = match &model {
        Some(m) => {
            let es = EmergingSettings {
                features: settings.features.clone(),
                surveys: settings.surveys.clone(),
                out: settings.out.clone(),
                repeat_days: settings.repeat_days,
                seed: settings.seed,
            };
            let (themes, path) = emerging::run(&es, m)?;
            written.push(path);
            Some(themes)
        }
        None => None,
    };
    if !quiet {
        print_report(&rep);
        if let Some(t) = &themes {
            print_emerging(t);
        }
        for p in &written {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// The emerging themes, most calls first.
fn print_emerging(themes: &[Theme]) {
    println!();
    if themes.is_empty() {
        println!(
            "emerging complaint themes: none (no cluster of uncaught complaints spans {} calls)",
            emerging::MIN_CALLS
        );
        return;
    }
    println!("emerging complaint themes (complaints no topic rule caught):");
    for t in themes {
        let nps = match (t.nps_with, t.nps_without) {
            (Some(a), Some(b)) => format!(
                "NPS {a:.1} (n={}) vs {b:.1} (n={}) without",
                t.nps_n_with, t.nps_n_without
            ),
            _ => format!(
                "NPS not tested: needs {} answers each side (has {} and {})",
                emerging::MIN_ANSWERS,
                t.nps_n_with,
                t.nps_n_without
            ),
        };
        println!(
            "  {}. {} — {} complaints in {} calls; {nps}",
            t.theme,
            printable(&t.terms.join(", ")),
            t.complaints,
            t.calls
        );
        if let Some((id, ms, text)) = t.examples.first() {
            println!(
                "     e.g. {} @{:.1}s: {}",
                printable(id),
                *ms as f64 / 1000.0,
                printable(text)
            );
        }
    }
}

fn into_settings(a: ScoreArgs) -> anyhow::Result<ScoreSettings> {
    let s = ScoreSettings {
        features: a.features,
        surveys: a.surveys,
        self_scores: a.self_scores,
        manifest: a.manifest,
        out: a.out,
        checklist: a.checklist,
        repeat_days: a.repeat_days,
        bootstrap: a.bootstrap,
        seed: a.seed,
        ..Default::default()
    };
    s.validate()?;
    Ok(s)
}

/// The readable summary, section by section.
fn print_report(rep: &Report) {
    print_surveys(rep);
    print_response_bias(rep);
    print_drivers(rep);
    print_models(rep);
    print_checklist(rep);
    print_repeat_contacts(rep);
    print_self_assessment(rep);
    print_reviewed(rep);
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn print_surveys(rep: &Report) {
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
    for n in &rep.survey_notes {
        println!("  {n}");
    }
    if !rep.survey_issues.is_empty() {
        println!("  every skipped or partly used row is listed in input_issues.csv");
    }
    for (ty, r) in &rep.response_rate {
        println!(
            "response rate {ty}: {} of {} ({:.1}%)",
            r.responses,
            r.interactions,
            100.0 * r.rate
        );
    }
}

/// The five features on which surveyed calls differ most (at least 0.2 sd).
fn print_response_bias(rep: &Report) {
    let size = |x: &BiasRow| x.standardised_difference.map_or(0.0, f64::abs);
    let mut bias: Vec<&BiasRow> = rep
        .response_bias
        .iter()
        .filter(|b| b.standardised_difference.is_some_and(|d| d.abs() >= 0.2))
        .collect();
    bias.sort_by(|a, b| size(b).total_cmp(&size(a)));
    if bias.is_empty() {
        return;
    }
    println!("surveyed calls differ from unsurveyed ones on:");
    for b in bias.iter().take(5) {
        println!(
            "  {:<32} {} (n {}) vs {} (n {}) ({:+.2} sd)",
            b.feature,
            opt(b.mean_surveyed, 2),
            b.n_surveyed,
            opt(b.mean_unsurveyed, 2),
            b.n_unsurveyed,
            b.standardised_difference.unwrap_or(0.0)
        );
    }
}

/// The significant drivers of each survey type and outcome.
fn print_drivers(rep: &Report) {
    let mut families: Vec<(&str, &str)> = rep
        .drivers
        .iter()
        .map(|d| (d.survey_type.as_str(), d.outcome.as_str()))
        .collect();
    families.dedup();
    for (ty, outcome) in families {
        let family: Vec<&DriverRow> = rep
            .drivers
            .iter()
            .filter(|d| d.survey_type == ty && d.outcome == outcome)
            .collect();
        print_driver_family(ty, outcome, &family);
    }
}

fn print_driver_family(ty: &str, outcome: &str, family: &[&DriverRow]) {
    let mut sig: Vec<&DriverRow> = family.iter().copied().filter(|d| d.significant).collect();
    let tested = family
        .iter()
        .filter(|d| !d.verdict.starts_with("not tested"))
        .count();
    let answers = family.iter().map(|d| d.n).max().unwrap_or(0);
    sig.sort_by_key(|d| d.rank.unwrap_or(i32::MAX));
    println!(
        "\ndrivers of {ty}/{outcome} ({answers} answers): {} drivers, {} no effect found, {} not tested",
        sig.len(),
        tested - sig.len(),
        family.len() - tested
    );
    // the commonest reason for not testing, so thin data is never read as "no effect"
    let reasons = score::not_tested_reasons(family.iter().map(|d| d.verdict.as_str()));
    for (r, n) in reasons.iter().take(3) {
        println!("  {n} features {r}");
    }
    if !sig.is_empty() {
        println!(
            "  {:<40} {:>8} {:>19} {:>9} {:>8} {:>6}",
            "feature (adjusted effect)", "effect", "95% CI", "p Holm", "raw", "n"
        );
    }
    for d in sig {
        let name = match d.threshold {
            Some(c) => format!("{} > {}", d.feature, short(c)),
            None => d.feature.clone(),
        };
        println!(
            "  {:<40} {:>+8.2} [{:>8.2}, {:>8.2}] {:>9.2e} {:>8} {:>6}",
            name,
            d.adjusted_effect.unwrap_or(0.0),
            d.adjusted_ci_low.unwrap_or(0.0),
            d.adjusted_ci_high.unwrap_or(0.0),
            d.adjusted_p_holm.unwrap_or(1.0),
            opt(d.effect, 2),
            d.n
        );
    }
}

/// A threshold as people write it: no trailing zeros.
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn print_models(rep: &Report) {
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
}

fn print_checklist(rep: &Report) {
    if rep.checklist.is_empty() {
        return;
    }
    println!("\nQA checklist alignment:");
    for c in &rep.checklist {
        if c.verdict.starts_with("not tested") {
            println!("  {:<34} {}", c.feature, c.verdict);
            continue;
        }
        println!(
            "  {:<34} {:<32} adjusted effect {} (n {} with, {} without)",
            c.feature,
            c.verdict,
            opt(c.effect, 2),
            c.n_with.unwrap_or(0),
            c.n_without.unwrap_or(0)
        );
    }
}

fn print_repeat_contacts(rep: &Report) {
    if let Some(r) = rep.repeat_contact_rate {
        println!(
            "\nrepeat contacts: {:.1}% of calls (derived FCR {:.1}%)",
            100.0 * r,
            100.0 * (1.0 - r)
        );
    }
}

fn print_self_assessment(rep: &Report) {
    let Some(sa) = &rep.self_assessment else {
        return;
    };
    println!("\nself-assessment gap (agent self score - customer CSAT):");
    for a in &sa.per_agent {
        println!(
            "  {:<20} n={:<4} self {:.2} customer {:.2} gap {:+.2}",
            a.agent_id, a.n, a.mean_self, a.mean_customer, a.gap
        );
    }
}

fn print_reviewed(rep: &Report) {
    let Some(r) = &rep.reviewed else {
        return;
    };
    println!(
        "\nreviewed by QA (callsift review): {} reviews of {} calls; reviewed QA score vs NPS: spearman {} (n={})",
        r.reviews,
        r.calls,
        opt(r.qa_score_vs_nps.spearman, 2),
        r.qa_score_vs_nps.n
    );
    println!(
        "  agent                item                          n  reviewer yes%  callsift yes%  agree%  self  CSAT with/without"
    );
    for a in &r.per_agent_item {
        println!(
            "  {:<20} {:<28} {:>3}  {:>13}  {:>13}  {:>6}  {:>4}  {}/{}",
            printable_first_line(&a.agent_id),
            a.item,
            a.n,
            opt(a.reviewer_yes_pct, 0),
            opt(a.auto_yes_pct, 0),
            opt(a.agreement_pct, 0),
            opt(a.mean_self_score, 1),
            opt(a.csat_with, 1),
            opt(a.csat_without, 1)
        );
    }
}
