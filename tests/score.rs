//! `score` on data with planted effects: some behaviours raise NPS, a topic lowers it, hold
//! time lowers it, and several features have no effect at all. The driver analysis must find
//! each planted effect with the right sign and report none of the null features; the model
//! must predict detractors out of sample. Edge cases: no survey matches, a constant feature,
//! a single-class outcome, bad survey rows — clear messages, no panic. Needs no model;
//! reading the tables back with pyarrow, DuckDB and polars needs python3 (ignored by a bare
//! `cargo test`, run by `make test`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callsift::analyze::metrics::Metrics;
use callsift::analyze::rules::RuleSet;
use callsift::downstream::score::{self, ScoreSettings, surveys};
use callsift::record::Interaction;
use callsift::store::read::CallTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 1200;
/// (column, prevalence, effect on the 0-10 NPS answer)
const PLANTED: &[(&str, f64, f64)] = &[
    ("beh_empathy", 0.5, 1.5),
    ("beh_ownership", 0.4, 1.0),
    ("topic_late_delivery", 0.2, -2.0),
    ("beh_upsell_offer", 0.3, 0.0),
    ("beh_greeting", 0.9, 0.0),
    ("topic_refund", 0.15, 0.0),
    ("evt_churn_threat", 0.1, 0.0),
];

struct Data {
    flags: Vec<Vec<bool>>,
    hold_ms: Vec<f64>,
    talk_speed: Vec<f64>,
    nps: Vec<f64>,
    surveyed: Vec<bool>,
}

fn generate(seed: u64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = Data {
        flags: vec![Vec::new(); PLANTED.len()],
        hold_ms: Vec::new(),
        talk_speed: Vec::new(),
        nps: Vec::new(),
        surveyed: Vec::new(),
    };
    for _ in 0..N {
        let mut y = 6.5;
        for (k, (_, prev, eff)) in PLANTED.iter().enumerate() {
            let on = rng.random::<f64>() < *prev;
            d.flags[k].push(on);
            if on {
                y += eff;
            }
        }
        let hold = if rng.random::<f64>() < 0.4 {
            rng.random::<f64>() * 240_000.0
        } else {
            0.0
        };
        y -= hold / 120_000.0; // two points per 4 minutes of hold
        d.hold_ms.push(hold);
        d.talk_speed.push(120.0 + 60.0 * rng.random::<f64>());
        // noise: sum of uniforms, sd about 1.5
        let noise: f64 = (0..6).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 2.1;
        d.nps.push((y + noise).round().clamp(0.0, 10.0));
        d.surveyed.push(rng.random::<f64>() < 0.5);
    }
    d
}

fn table(d: &Data) -> CallTable {
    CallTable {
        ids: (0..N).map(|i| format!("C-{i}")).collect(),
        agent_id: (0..N).map(|i| Some(format!("ag-{}", i % 12))).collect(),
        customer_id: (0..N).map(|i| Some(format!("cust-{}", i % 900))).collect(),
        started_at: (0..N)
            .map(|i| Some(1_700_000_000_000 + i as i64 * 3_600_000))
            .collect(),
        queue: vec![None; N],
        contact_channel: vec![None; N],
        flags: PLANTED
            .iter()
            .enumerate()
            .map(|(k, (n, _, _))| (n.to_string(), d.flags[k].iter().map(|&b| Some(b)).collect()))
            .collect(),
        numeric: vec![
            (
                "hold_time_ms".into(),
                d.hold_ms.iter().map(|&v| Some(v)).collect(),
            ),
            (
                "talk_speed_agent_wpm".into(),
                d.talk_speed.iter().map(|&v| Some(v)).collect(),
            ),
            ("sentiment_agent".into(), vec![Some(1.0); N]),
        ],
    }
}

fn analyse(d: &Data) -> score::Report {
    let answers: Vec<Option<f64>> = (0..N).map(|i| d.surveyed[i].then_some(d.nps[i])).collect();
    analyse_answers(table(d), &answers, 400)
}

#[test]
fn planted_effects_are_recovered_and_null_features_are_not_drivers() {
    // ten independent data sets: every planted effect must be found every time; null
    // features may come out significant only as often as the 5% false discovery rate allows
    let (mut null_tests, mut false_discoveries) = (0, Vec::new());
    for seed in 1..=10 {
        let rep = analyse(&generate(seed));
        let get = |outcome: &str, f: &str| {
            rep.drivers
                .iter()
                .find(|r| r.outcome == outcome && r.feature == f)
                .unwrap_or_else(|| panic!("no row for {f}"))
        };
        for outcome in ["nps_mean", "nps_score"] {
            for (f, _, eff) in PLANTED {
                let r = get(outcome, f);
                if *eff == 0.0 {
                    null_tests += 1;
                    if r.significant {
                        false_discoveries
                            .push(format!("seed {seed}: {f} for {outcome}, q {:?}", r.q_value));
                    }
                } else {
                    assert!(
                        r.significant,
                        "seed {seed}: planted {f} missed for {outcome}: {r:?}"
                    );
                    assert_eq!(r.effect.unwrap().signum(), eff.signum(), "{r:?}");
                    let (lo, hi) = (r.ci_low.unwrap(), r.ci_high.unwrap());
                    assert!(lo <= r.effect.unwrap() && r.effect.unwrap() <= hi);
                    if outcome == "nps_mean" {
                        // the interval reaches the planted effect, allowing the rounding and
                        // clipping of answers to 0-10 to shrink it by up to 30%
                        let (a, b) = (eff.min(eff * 0.7), eff.max(eff * 0.7));
                        assert!(lo <= b && hi >= a, "{f}: [{lo}, {hi}] vs {eff}");
                    }
                }
            }
            // hold time lowers the outcome: found as a linear effect or past a threshold
            let hold: Vec<&score::DriverRow> = rep
                .drivers
                .iter()
                .filter(|r| r.outcome == outcome && r.feature == "hold_time_ms")
                .collect();
            assert!(
                hold.iter()
                    .any(|r| r.significant && r.adjusted_effect.unwrap() < 0.0),
                "{hold:?}"
            );
            null_tests += 1;
            if rep.drivers.iter().any(|r| {
                r.outcome == outcome && r.feature == "talk_speed_agent_wpm" && r.significant
            }) {
                false_discoveries.push(format!("seed {seed}: talk speed for {outcome}"));
            }
            // a constant feature is untestable, not an effect
            let constant = get(outcome, "sentiment_agent");
            assert!(
                constant.p_value.is_none() && !constant.significant,
                "{constant:?}"
            );
        }
        // ranks order the significant flags by effect size
        let ranked: Vec<&str> = {
            let mut v: Vec<_> = rep
                .drivers
                .iter()
                .filter(|r| r.outcome == "nps_mean" && r.feature_type == "flag" && r.rank.is_some())
                .collect();
            v.sort_by_key(|r| r.rank);
            v.iter().map(|r| r.feature.as_str()).collect()
        };
        assert_eq!(
            &ranked[..2],
            ["topic_late_delivery", "beh_empathy"],
            "seed {seed}"
        );
        if seed != 3 {
            continue;
        }
        // the model predicts detractors on held-out calls and leans on the planted features
        let m = &rep.models["detractor"];
        assert!(m.auc.unwrap() > 0.7, "{m:?}");
        assert!((m.mean_predicted - m.observed_rate).abs() < 0.05, "{m:?}");
        let c = &rep.coefficients["detractor"];
        assert!(
            c["topic_late_delivery"] > 0.3 && c["beh_empathy"] < -0.3,
            "{c:?}"
        );
        // every call gets a prediction, surveyed or not
        assert_eq!(rep.scores.len(), N);
        assert!(
            rep.scores
                .iter()
                .all(|s| s.p_detractor.is_some() && s.top_features.len() == 3)
        );
        // checklist: the null behaviours are candidates to drop, the topic matters off-list
        let verdict = |f: &str| {
            rep.checklist
                .iter()
                .find(|c| c.feature == f)
                .map(|c| c.verdict.as_str())
        };
        assert_eq!(verdict("beh_empathy"), Some("keep"));
        assert_eq!(verdict("beh_upsell_offer"), Some("no measurable effect"));
        assert_eq!(
            verdict("topic_late_delivery"),
            Some("matters, not on the checklist")
        );
    }
    assert!(
        false_discoveries.len() * 20 <= null_tests,
        "{} of {null_tests} null tests reported as drivers (more than 5%): {false_discoveries:?}",
        false_discoveries.len()
    );
}

#[test]
fn results_are_reproducible_for_a_seed() {
    let d = generate(3);
    let (a, b) = (analyse(&d), analyse(&d));
    let ci = |r: &score::Report| {
        r.drivers
            .iter()
            .map(|x| (x.ci_low, x.ci_high))
            .collect::<Vec<_>>()
    };
    assert_eq!(ci(&a), ci(&b));
}

#[test]
fn a_single_class_outcome_gives_a_message_not_a_panic() {
    let mut d = generate(4);
    d.nps.iter_mut().for_each(|v| *v = 10.0);
    let rep = analyse(&d);
    assert!(rep.models.is_empty());
    assert!(
        rep.model_notes.iter().any(|n| n.contains("only one class")),
        "{:?}",
        rep.model_notes
    );
    assert!(rep.drivers.iter().all(|r| !r.significant));
}

/// interactions.parquet through the real writer, with planted effects.
fn write_features(dir: &Path, d: &Data) {
    let rules = RuleSet::builtin();
    let rows = (0..N).map(|i| {
        let mut row = Interaction {
            interaction_id: format!("C-{i}"),
            source_path: format!("c{i}.wav"),
            ok: true,
            model: "tiny.en".into(),
            language: "en".into(),
            agent_id: Some(format!("ag-{}", i % 12)),
            customer_id: Some(format!("cust-{}", i % 900)),
            started_at: Some(1_700_000_000_000 + i as i64 * 3_600_000),
            metrics: Some(Metrics {
                hold_time_ms: Some(d.hold_ms[i] as i64),
                ..Default::default()
            }),
            ..Default::default()
        };
        row.categories = rules
            .categories
            .iter()
            .map(|c| {
                let k = PLANTED.iter().position(|(n, _, _)| *n == c.column());
                Some(k.is_some_and(|k| d.flags[k][i]))
            })
            .collect();
        row
    });
    common::write_features(dir, &rules, rows);
}

/// The features of `generate(5)` and its survey answers, with an unknown id, an answer out of
/// range and one that is not a number among them: (features folder, surveys.csv).
fn score_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let d = generate(5);
    let features = dir.join("features");
    write_features(&features, &d);
    let surveys = dir.join("surveys.csv");
    let mut csv = String::from("call_id,survey_type,nps,csat,fcr\n");
    for i in (0..N).filter(|&i| d.surveyed[i]) {
        csv.push_str(&format!("C-{i},post_call,{},,\n", d.nps[i]));
    }
    csv.push_str("C-99999,post_call,5,,\nC-3,post_call,12,,\nC-4,post_call,seven,,\n");
    std::fs::write(&surveys, csv).unwrap();
    (features, surveys)
}

/// `callsift score ARGS --features F --surveys S --out OUT`.
fn score(args: &[&str], features: &Path, surveys: &Path, out: &Path) -> Output {
    common::callsift()
        .arg("score")
        .args(args)
        .arg("--features")
        .arg(features)
        .arg("--surveys")
        .arg(surveys)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// Score again with a manifest supplying the customer ids and times the features lack: two
/// calls of one customer (C-1, C-2) a day apart; the run must succeed.
fn score_with_repeat_manifest(dir: &Path, features: &Path, surveys: &Path, out: &Path) {
    let manifest = dir.join("calls.csv");
    std::fs::write(
        &manifest,
        "call_id,path,customer_id,started_at\nC-1,x.wav,cust-new,2026-01-01T10:00:00Z\nC-2,y.wav,cust-new,2026-01-02T10:00:00Z\n",
    )
    .unwrap();
    let args = ["--quiet", "--bootstrap", "50", "--manifest"];
    let mut args = args.to_vec();
    args.push(manifest.to_str().unwrap());
    let run = score(&args, features, surveys, out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn score_command_writes_drivers_scores_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let (features, surveys) = score_inputs(dir.path());
    let out = dir.path().join("scores");
    let run = score(&["--bootstrap", "200"], &features, &surveys, &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("unknown id (e.g. line"), "{stdout}");
    assert!(stdout.contains("invalid value"), "{stdout}");
    assert!(
        stdout.contains("drivers of post_call/nps_score"),
        "{stdout}"
    );
    assert!(stdout.contains("topic_late_delivery"), "{stdout}");
    assert!(
        stdout.contains("model detractor: 5-fold CV AUC"),
        "{stdout}"
    );
    for f in ["drivers.parquet", "scores.parquet", "score_report.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // (the tables as pyarrow, DuckDB and polars read them: score_tables_read_back_as_documented)
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("score_report.json")).unwrap())
            .unwrap();
    assert!(
        report["response_rate"]["post_call"]["rate"]
            .as_f64()
            .unwrap()
            > 0.4
    );

    // --manifest supplies customer ids and times the features lack: two calls of one customer
    // a day apart become a repeat contact (read here by callsift's own reader; by DuckDB in
    // score_tables_read_back_as_documented)
    score_with_repeat_manifest(dir.path(), &features, &surveys, &out);
    let (h, rows) = callsift::store::read::read_text_rows(&out.join("scores.parquet")).unwrap();
    let col = |c: &str| h.iter().position(|x| x == c).unwrap();
    let mut repeat: Vec<(String, String)> = rows
        .iter()
        .filter_map(|r| {
            let id = r[col("interaction_id")].clone()?;
            ["C-1", "C-2"]
                .contains(&id.as_str())
                .then(|| (id, r[col("repeat_contact")].clone().unwrap_or_default()))
        })
        .collect();
    repeat.sort();
    assert_eq!(
        repeat,
        [
            ("C-1".into(), "true".into()),
            ("C-2".into(), "false".into())
        ]
    );

    // no survey matches: exit 2 with a hint
    std::fs::write(&surveys, "call_id,nps\nX-1,9\nX-2,3\n").unwrap();
    let run = score(&[], &features, &surveys, &out);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr.contains("no survey answer matches") && stderr.contains("hint:"),
        "{stderr}"
    );
    // the rows that did not match are listed, so the operator sees why
    let issues = std::fs::read_to_string(out.join("input_issues.csv")).unwrap();
    assert!(
        stderr.contains("input_issues.csv") && issues.contains("X-1") && issues.contains("X-2"),
        "{stderr}\n{issues}"
    );
}

#[test]
#[ignore = "needs python3 with pyarrow, duckdb and polars: run with `make test`"]
fn score_tables_read_back_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let (features, surveys) = score_inputs(dir.path());
    let out = dir.path().join("scores");
    let run = score(&["--bootstrap", "200"], &features, &surveys, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // both real clients read the tables with the schema documented in docs/score.md
    let said = common::check_parquet(&out, "docs/score.md");
    assert!(said.contains("ok: scores.parquet"), "{said}");

    // --manifest supplies customer ids and times the features lack: two calls of one customer
    // a day apart become a repeat contact
    score_with_repeat_manifest(dir.path(), &features, &surveys, &out);
    let q = Command::new("python3")
        .args([
            "-c",
            "import sys, duckdb; print(duckdb.sql(f\"select interaction_id, repeat_contact from '{sys.argv[1]}' where interaction_id in ('C-1','C-2') order by 1\").fetchall())",
        ])
        .arg(out.join("scores.parquet"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&q.stdout);
    assert!(said.contains("('C-1', True), ('C-2', False)"), "{said}");
}

/// Calls where features travel together: billing problems lower NPS and make a late delivery
/// rare (so late delivery looks good when compared raw), upsell offers come with empathy, the
/// escalation request comes with billing, and a hold costs points only past 40 s. Effects on
/// the 0-10 answer: (column, effect).
const CONFOUNDED: &[(&str, f64)] = &[
    ("topic_billing", -2.0),
    ("topic_late_delivery", 0.0),
    ("beh_empathy", 1.0),
    ("beh_ownership", 0.8),
    ("beh_upsell_offer", 0.0),
    ("beh_greeting", 0.0),
    ("evt_escalation_request", -0.8),
];
const HOLD_CUT_MS: f64 = 40_000.0;
const HOLD_EFFECT: f64 = -1.5;

fn generate_confounded(seed: u64, n: usize) -> (CallTable, Vec<Option<f64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut flags = vec![Vec::new(); CONFOUNDED.len()];
    let (mut hold, mut non_talk, mut speed, mut nps) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let mut p = |v: f64| rng.random::<f64>() < v;
        let billing = p(0.3);
        let late = p(if billing { 0.05 } else { 0.35 });
        let empathy = p(0.5);
        let ownership = p(0.4);
        let upsell = p(if empathy { 0.6 } else { 0.2 });
        let greeting = p(0.9);
        let escalation = p(if billing { 0.3 } else { 0.1 });
        let on = [
            billing, late, empathy, ownership, upsell, greeting, escalation,
        ];
        let mut y = 6.8;
        for (k, f) in on.iter().enumerate() {
            flags[k].push(Some(*f));
            if *f {
                y += CONFOUNDED[k].1;
            }
        }
        let h = if rng.random::<f64>() < 0.5 {
            rng.random::<f64>() * 180_000.0
        } else {
            0.0
        };
        if h > HOLD_CUT_MS {
            y += HOLD_EFFECT;
        }
        hold.push(Some(h));
        non_talk.push(Some(0.5 * h + rng.random::<f64>() * 120_000.0));
        speed.push(Some(120.0 + 60.0 * rng.random::<f64>()));
        let noise: f64 = (0..6).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 2.1;
        let answered = rng.random::<f64>() < 0.5;
        nps.push(answered.then(|| (y + noise).round().clamp(0.0, 10.0)));
    }
    let t = CallTable {
        ids: (0..n).map(|i| format!("C-{i}")).collect(),
        agent_id: (0..n).map(|i| Some(format!("ag-{}", i % 12))).collect(),
        customer_id: vec![None; n],
        started_at: vec![None; n],
        queue: vec![None; n],
        contact_channel: vec![None; n],
        flags: CONFOUNDED
            .iter()
            .zip(flags)
            .map(|((name, _), v)| (name.to_string(), v))
            .collect(),
        numeric: vec![
            ("hold_time_ms".into(), hold),
            ("non_talk_time_ms".into(), non_talk),
            ("talk_speed_agent_wpm".into(), speed),
        ],
    };
    (t, nps)
}

/// `score::analyse` of NPS answers (per row of `t`, `None`: no answer) with the default
/// checklist and `bootstrap` resamples.
fn analyse_answers(mut t: CallTable, nps: &[Option<f64>], bootstrap: usize) -> score::Report {
    let ids = t.row_index();
    let header = vec!["interaction_id".to_string(), "nps".to_string()];
    let rows: Vec<Vec<Option<String>>> = nps
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some(vec![Some(format!("C-{i}")), Some(format!("{}", (*v)?))]))
        .collect();
    let sv = surveys::parse("s.csv", &header, &rows, &ids).unwrap();
    let items = score::checklist_items(&t, None).unwrap();
    score::analyse(
        &mut t,
        &sv,
        &items,
        None,
        &ScoreSettings {
            bootstrap,
            ..Default::default()
        },
    )
}

#[test]
fn adjusted_drivers_see_through_correlated_topics_and_find_a_threshold() {
    for seed in 1..=6 {
        let (t, nps) = generate_confounded(seed, 2000);
        let rep = analyse_answers(t, &nps, 200);
        for outcome in ["nps_mean", "nps_score"] {
            let rows: Vec<&score::DriverRow> = rep
                .drivers
                .iter()
                .filter(|r| r.outcome == outcome)
                .collect();
            let get = |f: &str, ty: &str| {
                rows.iter()
                    .find(|r| r.feature == f && r.feature_type == ty)
                    .unwrap_or_else(|| panic!("seed {seed}: no {ty} row for {f}"))
            };
            for (f, eff) in CONFOUNDED {
                let r = get(f, "flag");
                if *eff == 0.0 {
                    assert_ne!(r.verdict, "driver", "seed {seed} {outcome}: {r:?}");
                    continue;
                }
                assert!(
                    r.verdict == "driver" && r.significant,
                    "seed {seed} {outcome}: planted {f} missed: {r:?}"
                );
                let e = r.adjusted_effect.unwrap();
                assert_eq!(e.signum(), eff.signum(), "{r:?}");
                if outcome == "nps_mean" {
                    // the interval reaches the planted effect, allowing rounding and clipping
                    // of answers to 0-10 to shrink it by up to 30%
                    let (lo, hi) = (r.adjusted_ci_low.unwrap(), r.adjusted_ci_high.unwrap());
                    let (a, b) = (eff.min(eff * 0.7), eff.max(eff * 0.7));
                    assert!(lo <= b && hi >= a, "seed {seed} {f}: [{lo}, {hi}] vs {eff}");
                }
            }
            // compared raw, the late delivery topic looks like it raises NPS: the old finding
            if outcome == "nps_mean" {
                let late = get("topic_late_delivery", "flag");
                assert!(
                    late.effect.unwrap() > 0.4 && late.q_value.unwrap() < 0.05,
                    "seed {seed}: the confounding is planted: {late:?}"
                );
            }
            // the hold costs points past a cut near 40 s, found out of fold
            let th = get("hold_time_ms", "threshold");
            assert!(
                th.verdict == "driver" && th.adjusted_effect.unwrap() < 0.0,
                "seed {seed} {outcome}: {th:?}"
            );
            let cut = th.threshold.unwrap();
            assert!(
                (25_000.0..=60_000.0).contains(&cut),
                "seed {seed}: cut {cut}"
            );
            // features without an effect are never drivers, in any form
            for f in ["talk_speed_agent_wpm", "non_talk_time_ms"] {
                for r in rows.iter().filter(|r| r.feature == f) {
                    assert_ne!(r.verdict, "driver", "seed {seed} {outcome}: {r:?}");
                }
            }
            // ranks follow the adjusted effect
            let mut ranked: Vec<&&score::DriverRow> =
                rows.iter().filter(|r| r.rank.is_some()).collect();
            ranked.sort_by_key(|r| r.rank);
            if outcome == "nps_mean" {
                assert_eq!(ranked[0].feature, "topic_billing", "seed {seed}");
            }
        }
    }
}

#[test]
fn thin_data_is_not_tested_and_says_what_it_needs() {
    // 8 calls with 1 answer, then with 8
    let (t, mut nps) = generate_confounded(11, 8);
    nps.iter_mut().for_each(|v| *v = None);
    nps[3] = Some(9.0);
    let rep = analyse_answers(t.clone(), &nps, 200);
    let all_not_tested = |rep: &score::Report| {
        rep.drivers
            .iter()
            .filter(|r| r.survey_type == "survey")
            .all(|r| r.verdict.starts_with("not tested") && !r.significant && r.rank.is_none())
    };
    assert!(all_not_tested(&rep), "{:?}", rep.drivers);
    let flag = rep
        .drivers
        .iter()
        .find(|r| r.feature == "beh_empathy" && r.outcome == "nps_mean")
        .unwrap();
    assert!(
        flag.verdict
            .starts_with("not tested: needs 5 answers with and 5 without, has"),
        "{flag:?}"
    );
    assert!(
        flag.effect.is_none() && flag.adjusted_effect.is_none(),
        "{flag:?}"
    );
    let nps: Vec<Option<f64>> = (0..8).map(|i| Some((i % 11) as f64)).collect();
    let rep = analyse_answers(t, &nps, 200);
    assert!(all_not_tested(&rep), "{:?}", rep.drivers);
    // the checklist says what it needs instead of showing an effect
    assert!(
        rep.checklist
            .iter()
            .all(|c| c.effect.is_none() && c.verdict.starts_with("not tested")),
        "{:?}",
        rep.checklist
    );
    // surveyed and unsurveyed calls are not compared on too few calls
    assert!(
        rep.response_bias
            .iter()
            .all(|b| b.standardised_difference.is_none())
    );
}

/// Under no effect at all (answers shuffled across calls), a survey type and measure reports a
/// driver in at most 5% of data sets (Holm's familywise level); checked over 300 of them with
/// a binomial allowance (8%), and the threshold rows may not run hotter than the flags.
#[test]
fn without_effects_drivers_appear_at_the_familywise_rate_at_most() {
    use rand::seq::SliceRandom;
    let (mut families, mut with_false) = (0, 0);
    let (mut false_flags, mut false_thresholds) = (0usize, 0usize);
    let (mut flag_tests, mut threshold_tests) = (0usize, 0usize);
    for seed in 100..250 {
        let (t, mut nps) = generate_confounded(seed, 800);
        nps.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let rep = analyse_answers(t, &nps, 200);
        for outcome in ["nps_mean", "nps_score"] {
            families += 1;
            let rows = rep.drivers.iter().filter(|r| r.outcome == outcome);
            let mut any = false;
            for r in rows.filter(|r| r.adjusted_p_value.is_some()) {
                match r.feature_type {
                    "flag" => flag_tests += 1,
                    "threshold" => threshold_tests += 1,
                    _ => {}
                }
                if r.significant {
                    any = true;
                    match r.feature_type {
                        "flag" => false_flags += 1,
                        "threshold" => false_thresholds += 1,
                        _ => {}
                    }
                }
            }
            with_false += any as usize;
        }
    }
    assert!(
        with_false * 100 <= families * 8,
        "{with_false} of {families} null families report a driver"
    );
    let rate = |k: usize, n: usize| k as f64 / n.max(1) as f64;
    assert!(
        rate(false_thresholds, threshold_tests) <= 2.0 * rate(false_flags, flag_tests).max(0.002),
        "thresholds {false_thresholds}/{threshold_tests} vs flags {false_flags}/{flag_tests}"
    );
}
