//! The benchmark's report: Mosaic's stage histogram from `/metrics`, label-step times from its
//! build log, the machine's conditions, and the summary printed on stdout.

use std::collections::BTreeMap;

use crate::{Marks, Path};
use mosaic_tests::demo::median_p90;

/// `mosaic_webhook_stage_duration_seconds` sums and counts by stage.
pub async fn stage_metrics(url: &str) -> BTreeMap<String, (f64, f64)> {
    let text = match reqwest::get(format!("{url}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        for (suffix, slot) in [("_sum{", 0), ("_count{", 1)] {
            let head = format!("mosaic_webhook_stage_duration_seconds{suffix}stage=\"");
            if let Some(rest) = line.strip_prefix(&head)
                && let Some((stage, value)) = rest.split_once("\"} ")
                && let Ok(v) = value.trim().parse::<f64>()
            {
                let e = out.entry(stage.to_string()).or_default();
                if slot == 0 {
                    e.0 = v;
                } else {
                    e.1 = v;
                }
            }
        }
    }
    out
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({cpu}), load average {}", loadavg())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Seconds each of Mosaic's builds spent on its label steps, from the webhook's JSON build log:
/// the first `Step …: LABEL` line with an `org.opencontainers.image.…` label to `Successfully built`.
pub fn label_steps(log: &str) -> Vec<f64> {
    let mut first: BTreeMap<String, chrono::DateTime<chrono::FixedOffset>> = BTreeMap::new();
    let mut out = Vec::new();
    for v in log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        if v["target"] != "mosaic_webhook::build_log" {
            continue;
        }
        let (Some(tag), Some(line), Some(at)) = (
            v["tag"].as_str(),
            v["line"].as_str(),
            v["timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
        ) else {
            continue;
        };
        // One `LABEL "org…"="…" …` step since the labels are appended to the Dockerfile;
        // before, one `LABEL org…=…` step per label (the build's `labels` option).
        let label_step = line.contains(": LABEL org.opencontainers.image.")
            || line.contains(": LABEL \"org.opencontainers.image.");
        if line.starts_with("Step ") && label_step {
            first.entry(tag.to_string()).or_insert(at);
        } else if line.starts_with("Successfully built")
            && let Some(start) = first.get(tag)
        {
            out.push((at - *start).as_seconds_f64());
        }
    }
    out
}

pub fn fmt_marks(m: &Marks) -> String {
    let mut v: Vec<(&str, f64)> = m.iter().map(|(k, v)| (*k, *v)).collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v.iter()
        .map(|(k, s)| format!("{k} {s:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn col(runs: &[Marks], key: &str) -> Vec<f64> {
    runs.iter().filter_map(|m| m.get(key).copied()).collect()
}

pub fn summary(
    runs: usize,
    results: &[(Path, Vec<Marks>)],
    before: &BTreeMap<String, (f64, f64)>,
    after: &BTreeMap<String, (f64, f64)>,
) {
    let median = |p: Path| {
        results
            .iter()
            .find(|(q, _)| *q == p)
            .map_or(f64::NAN, |(_, set)| median_p90(&col(set, "rolled")).0)
    };
    println!(
        "push-to-rolled overhead: {runs} runs per path after one warm-up each, order rotated every run"
    );
    println!("machine: {}", machine());
    println!();
    println!(
        "{:<44} {:>8} {:>8}",
        "seconds, push to rolled", "median", "p90"
    );
    for (path, set) in results {
        let (med, p90) = median_p90(&col(set, "rolled"));
        let what = match path {
            Path::Mosaic => "mosaic (signed push delivery)",
            Path::ByHand => "by hand (curl|tar, docker, kubectl)",
            Path::ByHandLabels => "by hand, with Mosaic's 3 OCI labels",
        };
        println!("{what:<44} {med:>8.3} {p90:>8.3}");
    }
    let m = median(Path::Mosaic);
    println!(
        "ratio mosaic / by hand (medians): {:.3}  (target <= 1.10)",
        m / median(Path::ByHand)
    );
    println!(
        "ratio mosaic / by hand with labels (medians): {:.3}",
        m / median(Path::ByHandLabels)
    );
    println!();
    println!("median seconds since the push at which each step was done:");
    for (path, set) in results {
        let mut keys: Vec<(&'static str, f64)> = set
            .first()
            .map(|m| m.keys().map(|k| (*k, median_p90(&col(set, k)).0)).collect())
            .unwrap_or_default();
        keys.sort_by(|a, b| a.1.total_cmp(&b.1));
        let line: Vec<String> = keys.iter().map(|(k, v)| format!("{k} {v:.3}")).collect();
        println!("  {:<16} {}", path.name(), line.join(", "));
    }
    println!("mosaic-webhook /metrics stage_duration_seconds, mean over the recorded runs:");
    for (stage, (sum, count)) in after {
        let (s0, c0) = before.get(stage).copied().unwrap_or_default();
        let n = count - c0;
        if n > 0.0 {
            println!("  {stage:<8} {:.3} s (n={n})", (sum - s0) / n);
        }
    }
}
