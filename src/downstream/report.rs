//! Report: one self-contained static HTML dashboard (inline CSS and SVG charts, no external
//! assets, no script) over the outputs of `run`, `score`, `sample` and `scorecard`: volume and
//! audio hours, top drivers with confidence intervals, complaint topics over time, the
//! silence distribution, checklist alignment, agent scorecards, and links to the QA review
//! pages. Sections whose inputs are missing say which command produces them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::store::{self, StoreError};

fn esc(s: &str) -> String {
    html_escape::encode_text(s).into_owned()
}

/// Rows of a Parquet table as maps column → text, or `None` when the file is absent.
fn table(path: &Path) -> Result<Option<Vec<BTreeMap<String, String>>>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let (h, rows) = store::read::read_text_rows(path)?;
    Ok(Some(
        rows.into_iter()
            .map(|r| {
                h.iter()
                    .cloned()
                    .zip(r)
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect()
            })
            .collect(),
    ))
}

fn f(r: &BTreeMap<String, String>, k: &str) -> Option<f64> {
    r.get(k).and_then(|v| v.parse().ok())
}

/// A vertical bar chart.
pub fn bar_chart(title: &str, bars: &[(String, f64)]) -> String {
    let (w, h, pad) = (720.0, 220.0, 40.0);
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    let bw = (w - 2.0 * pad) / bars.len().max(1) as f64;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {w} {h2}\" width=\"{w}\" height=\"{h2}\"><title>{t}</title>\
<line x1=\"{pad}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/>",
        t = esc(title),
        h2 = h + 40.0,
        y0 = h,
        x1 = w - pad
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = (h - 20.0) * v / max;
        let x = pad + i as f64 * bw;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw2:.1}\" height=\"{bh:.1}\" fill=\"#4a7ab5\"><title>{l}: {v}</title></rect>\
<text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"middle\">{v}</text>\
<text x=\"{tx:.1}\" y=\"{ly:.1}\" font-size=\"10\" text-anchor=\"middle\">{l}</text>",
            y = h - bh,
            bw2 = (bw * 0.8).max(1.0),
            l = esc(label),
            tx = x + bw * 0.4,
            ty = h - bh - 3.0,
            ly = h + 14.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// A forest plot: one row per effect with its interval, a zero line.
pub fn forest_plot(title: &str, rows: &[(String, f64, f64, f64)]) -> String {
    let (w, row_h, left) = (720.0, 22.0, 260.0);
    let h = row_h * rows.len() as f64 + 30.0;
    let lo = rows.iter().map(|r| r.2).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.3).fold(0.0, f64::max);
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| left + (w - left - 20.0) * (v - lo) / span;
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"><title>{t}</title>\
<line x1=\"{z:.1}\" y1=\"0\" x2=\"{z:.1}\" y2=\"{h}\" stroke=\"#999\" stroke-dasharray=\"3 3\"/>",
        t = esc(title),
        z = x(0.0)
    );
    for (i, (label, eff, a, b)) in rows.iter().enumerate() {
        let y = row_h * i as f64 + 15.0;
        let color = if *eff < 0.0 { "#b54a4a" } else { "#3f8f4f" };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{ty:.1}\" font-size=\"11\">{l}</text>\
<line x1=\"{xa:.1}\" y1=\"{y:.1}\" x2=\"{xb:.1}\" y2=\"{y:.1}\" stroke=\"{color}\" stroke-width=\"2\"/>\
<circle cx=\"{xe:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{color}\"><title>{l}: {eff:+.2} [{a:.2}, {b:.2}]</title></circle>",
            ty = y + 4.0,
            l = esc(label),
            xa = x(*a),
            xb = x(*b),
            xe = x(*eff),
        );
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"{yb}\" font-size=\"10\">{lo:.1}</text><text x=\"{xr}\" y=\"{yb}\" font-size=\"10\" text-anchor=\"end\">{hi:.1}</text></svg>",
        yb = h - 2.0,
        xr = w - 20.0
    );
    s
}

/// Inputs of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    pub features: PathBuf,
    pub scores: Option<PathBuf>,
    pub qa: Option<PathBuf>,
    pub cards: Option<PathBuf>,
}

fn missing(what: &str, cmd: &str) -> String {
    format!("<p class=\"missing\">No {what}: run <code>{cmd}</code> and pass its folder.</p>")
}

/// Build the HTML (reads the tables; writes nothing).
pub fn build(inp: &ReportInputs, out_dir: &Path) -> Result<String, StoreError> {
    let interactions = table(&inp.features.join("interactions"))?.unwrap_or_default();
    let ok: Vec<&BTreeMap<String, String>> = interactions
        .iter()
        .filter(|r| r.get("status").map(String::as_str) == Some("ok"))
        .collect();
    let hours = ok.iter().filter_map(|r| f(r, "duration_ms")).sum::<f64>() / 3.6e6;
    let day = |r: &BTreeMap<String, String>| {
        f(r, "started_at")
            .and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
            .map_or("unknown".to_string(), |t| t.format("%Y-%m-%d").to_string())
    };
    let mut per_day: BTreeMap<String, f64> = BTreeMap::new();
    for r in &ok {
        *per_day.entry(day(r)).or_default() += 1.0;
    }
    // short labels (MM-DD) keep the bars readable
    let per_day: Vec<(String, f64)> = per_day
        .into_iter()
        .map(|(d, n)| (d.get(5..).unwrap_or(&d).to_string(), n))
        .collect();
    let mut html = String::new();
    let _ = writeln!(
        html,
        "<section id=\"volume\"><h2>Volume</h2><p><b>{}</b> recordings, <b>{}</b> processed, <b>{}</b> failed; <b>{hours:.2} h</b> of audio.</p>{}</section>",
        interactions.len(),
        ok.len(),
        interactions.len() - ok.len(),
        bar_chart("calls per day", &per_day)
    );

    // drivers with confidence intervals
    html.push_str("<section id=\"drivers\"><h2>What moves satisfaction</h2>");
    let drivers = match &inp.scores {
        Some(d) => table(&d.join("drivers.parquet"))?,
        None => None,
    };
    match drivers {
        None => html.push_str(&missing("driver analysis", "callsift score")),
        Some(rows) => {
            let mut families: Vec<(String, String)> = rows
                .iter()
                .filter(|r| r.get("significant").map(String::as_str) == Some("true"))
                .map(|r| (r["survey_type"].clone(), r["outcome"].clone()))
                .collect();
            families.sort();
            families.dedup();
            if families.is_empty() {
                html.push_str("<p>No feature moves the survey outcomes significantly (q &lt; 0.05) in this data.</p>");
            }
            for (ty, outcome) in families.iter().filter(|(_, o)| !o.ends_with("_mean")) {
                let mut sig: Vec<(String, f64, f64, f64)> = rows
                    .iter()
                    .filter(|r| {
                        &r["survey_type"] == ty
                            && &r["outcome"] == outcome
                            && r.get("significant").map(String::as_str) == Some("true")
                            && r.get("feature_type").map(String::as_str) == Some("flag")
                    })
                    .filter_map(|r| {
                        Some((
                            r["feature"].clone(),
                            f(r, "effect")?,
                            f(r, "ci_low")?,
                            f(r, "ci_high")?,
                        ))
                    })
                    .collect();
                sig.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
                sig.truncate(12);
                if sig.is_empty() {
                    continue;
                }
                let _ = write!(
                    html,
                    "<h3>{} / {}</h3>{}",
                    esc(ty),
                    esc(outcome),
                    forest_plot(&format!("{ty} {outcome}: effect and 95% interval"), &sig)
                );
            }
        }
    }
    html.push_str("</section>\n");

    // complaint topics over time
    html.push_str("<section id=\"topics\"><h2>Complaint topics over time</h2>");
    let topics: Vec<String> = interactions.first().map_or_else(Vec::new, |r| {
        r.keys()
            .filter(|k| k.starts_with("topic_"))
            .cloned()
            .collect()
    });
    let mut grid: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in &ok {
        for t in &topics {
            if r.get(t).map(String::as_str) == Some("true") {
                *grid
                    .entry(t.clone())
                    .or_default()
                    .entry(day(r))
                    .or_default() += 1;
            }
        }
    }
    let days: Vec<String> = {
        let mut d: Vec<String> = grid.values().flat_map(|m| m.keys().cloned()).collect();
        d.sort();
        d.dedup();
        d
    };
    if grid.is_empty() {
        html.push_str("<p>No complaint topic found.</p>");
    } else {
        let totals: Vec<(String, f64)> = grid
            .iter()
            .map(|(t, m)| {
                (
                    t.trim_start_matches("topic_").to_string(),
                    m.values().sum::<usize>() as f64,
                )
            })
            .collect();
        html.push_str(&bar_chart("calls per complaint topic", &totals));
        html.push_str("<table><tr><th>topic</th>");
        for d in &days {
            let _ = write!(html, "<th>{}</th>", esc(d));
        }
        html.push_str("</tr>");
        for (t, m) in &grid {
            let _ = write!(html, "<tr><td>{}</td>", esc(t));
            for d in &days {
                let _ = write!(html, "<td>{}</td>", m.get(d).copied().unwrap_or(0));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
    }
    html.push_str("</section>\n");

    // silence distribution
    html.push_str("<section id=\"silence\"><h2>Silence and non-talk time</h2>");
    let buckets = [
        (0.0, 3.0),
        (3.0, 5.0),
        (5.0, 10.0),
        (10.0, 20.0),
        (20.0, 60.0),
        (60.0, f64::INFINITY),
    ];
    let hist: Vec<(String, f64)> = buckets
        .iter()
        .map(|(a, b)| {
            let n = ok
                .iter()
                .filter_map(|r| f(r, "longest_silence_ms"))
                .filter(|v| *v / 1000.0 >= *a && *v / 1000.0 < *b)
                .count();
            (
                if b.is_finite() {
                    format!("{a}-{b} s")
                } else {
                    format!("≥{a} s")
                },
                n as f64,
            )
        })
        .collect();
    html.push_str(&bar_chart("calls by longest silence", &hist));
    let shares: Vec<f64> = ok
        .iter()
        .filter_map(|r| Some(f(r, "non_talk_time_ms")? / f(r, "duration_ms")?.max(1.0)))
        .collect();
    if !shares.is_empty() {
        let _ = write!(
            html,
            "<p>Mean non-talk share: <b>{:.1}%</b> of call time.</p>",
            100.0 * shares.iter().sum::<f64>() / shares.len() as f64
        );
    }
    html.push_str("</section>\n");

    // checklist alignment
    html.push_str("<section id=\"checklist\"><h2>QA checklist alignment</h2>");
    let report_json = inp
        .scores
        .as_ref()
        .map(|d| d.join("score_report.json"))
        .filter(|p| p.exists());
    match report_json
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        None => html.push_str(&missing("checklist alignment", "callsift score")),
        Some(v) => {
            html.push_str("<table><tr><th>item</th><th>on checklist</th><th>outcome</th><th>effect</th><th>verdict</th></tr>");
            for c in v["checklist"].as_array().into_iter().flatten() {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(c["feature"].as_str().unwrap_or("")),
                    if c["on_checklist"].as_bool() == Some(true) {
                        "yes"
                    } else {
                        "no"
                    },
                    esc(c["outcome"].as_str().unwrap_or("")),
                    c["effect"]
                        .as_f64()
                        .map_or("-".into(), |e| format!("{e:+.1}")),
                    esc(c["verdict"].as_str().unwrap_or(""))
                );
            }
            html.push_str("</table>");
        }
    }
    html.push_str("</section>\n");

    // scorecards
    html.push_str("<section id=\"scorecards\"><h2>Agent scorecards</h2>");
    let cards = match &inp.cards {
        Some(d) => table(&d.join("scorecard.parquet"))?,
        None => None,
    };
    match cards {
        None => html.push_str(&missing("scorecards", "callsift scorecard")),
        Some(rows) => {
            let metrics = [
                "aht_ms",
                "non_talk_share_pct",
                "hold_time_ms",
                "complaint_rate_pct",
                "repeat_contact_rate_pct",
                "nps",
            ];
            // (agent, period) -> metric -> (value, percentile, n)
            type Cells = BTreeMap<(String, String), BTreeMap<String, (String, String, String)>>;
            let mut by: Cells = BTreeMap::new();
            for r in &rows {
                let key = (r["agent_id"].clone(), r["period"].clone());
                let cell = by.entry(key).or_default();
                cell.insert(
                    "calls".into(),
                    (r["calls"].clone(), String::new(), r["queue"].clone()),
                );
                if metrics.contains(&r["metric"].as_str()) {
                    cell.insert(
                        r["metric"].clone(),
                        (
                            f(r, "value").map_or("-".into(), |v| format!("{v:.0}")),
                            f(r, "percentile").map_or(String::new(), |p| format!("p{p:.0}")),
                            r["n"].clone(),
                        ),
                    );
                }
            }
            html.push_str("<table><tr><th>agent</th><th>period</th><th>queue</th><th>calls</th>");
            for m in metrics {
                let _ = write!(html, "<th>{m}</th>");
            }
            html.push_str("</tr>");
            for ((agent, period), cell) in &by {
                let calls = cell.get("calls").cloned().unwrap_or_default();
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                    esc(agent),
                    esc(period),
                    esc(&calls.2),
                    esc(&calls.0)
                );
                for m in metrics {
                    let (v, p, n) = cell
                        .get(m)
                        .cloned()
                        .unwrap_or_else(|| ("-".into(), String::new(), String::new()));
                    let _ = write!(
                        html,
                        "<td title=\"n={}\">{} <small>{}</small></td>",
                        esc(&n),
                        esc(&v),
                        esc(&p)
                    );
                }
                html.push_str("</tr>");
            }
            html.push_str("</table><p><small>pN: percentile among agents of the same queue and channel.</small></p>");
        }
    }
    html.push_str("</section>\n");

    // QA sample
    html.push_str("<section id=\"qa\"><h2>QA sample</h2>");
    let qa = match &inp.qa {
        Some(d) => table(&d.join("qa_sample.parquet"))?.map(|t| (d.clone(), t)),
        None => None,
    };
    match qa {
        None => html.push_str(&missing("QA sample", "callsift sample")),
        Some((dir, rows)) => {
            let base = pathdiff(&dir, out_dir);
            let mut seen = std::collections::BTreeSet::new();
            html.push_str("<ul>");
            for r in &rows {
                if !seen.insert(r["interaction_id"].clone()) {
                    continue;
                }
                let _ = write!(
                    html,
                    "<li><a href=\"{}\">{}</a> — {} ({})</li>",
                    // the page name `sample` stored (sample::file_stem), never rebuilt here
                    html_escape::encode_double_quoted_attribute(&format!(
                        "{base}/{}",
                        r["review_page"]
                    )),
                    esc(&r["interaction_id"]),
                    esc(&r["agent_id"]),
                    esc(r.get("reasons").map_or("", String::as_str))
                );
            }
            html.push_str("</ul>");
        }
    }
    html.push_str("</section>\n");

    Ok(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>callsift report</title><style>\
body{{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}}\
section{{margin:2rem 0}}table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left}}\
.missing{{color:#a33}}svg{{max-width:100%;height:auto}}</style></head><body><h1>callsift report</h1>\
<nav><a href=\"#volume\">volume</a> · <a href=\"#drivers\">drivers</a> · <a href=\"#topics\">topics</a> · <a href=\"#silence\">silence</a> · \
<a href=\"#checklist\">checklist</a> · <a href=\"#scorecards\">scorecards</a> · <a href=\"#qa\">QA sample</a></nav>\n{html}\
<footer><small>callsift {}</small></footer></body></html>\n",
        env!("CARGO_PKG_VERSION")
    ))
}

/// `target` relative to `from` when it lies under it, else the absolute path.
fn pathdiff(target: &Path, from: &Path) -> String {
    let (t, f) = (
        std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf()),
        std::fs::canonicalize(from).unwrap_or_else(|_| from.to_path_buf()),
    );
    match t.strip_prefix(&f) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => t.display().to_string(),
    }
}

/// Write the report file (atomically).
pub fn run(inp: &ReportInputs, out: &Path) -> Result<PathBuf, StoreError> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.into(),
        source,
    })?;
    let html = build(inp, dir)?;
    let tmp = out.with_extension("html.partial");
    std::fs::write(&tmp, html).map_err(|source| StoreError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, out).map_err(|source| StoreError::Io {
        path: out.into(),
        source,
    })?;
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_one_mark_per_value() {
        let b = bar_chart("t", &[("a".into(), 1.0), ("b".into(), 3.0)]);
        assert_eq!(b.matches("<rect").count(), 2);
        assert!(b.starts_with("<svg") && b.ends_with("</svg>"));
        let f = forest_plot(
            "t",
            &[("x".into(), 1.0, 0.5, 1.5), ("y".into(), -2.0, -3.0, -1.0)],
        );
        assert_eq!(f.matches("<circle").count(), 2);
        assert!(f.contains("x: +1.00 [0.50, 1.50]"));
    }
}
