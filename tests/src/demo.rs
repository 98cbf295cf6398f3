//! Shared by the push demo (`webhook/examples/demo_push`) and the overhead benchmark
//! (`webhook/examples/bench_overhead`): the sample app, watches that hand events over with the
//! moment they arrived, the stand-in Deployment controller and kubelet (`standin`, `kubelet`),
//! terminal styling and one-line errors.

mod kubelet;
mod standin;
pub use standin::*;

use std::fmt::Debug;
use std::io::IsTerminal;
use std::time::Instant;

use crate::BUSYBOX;
use crate::fake_github::File;
use futures::StreamExt;
use kube::api::Api;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// The sample app at one commit: a static site served by busybox httpd, `FROM scratch` (the
/// local dockerd has no network to pull a base image). `marker` makes every commit's page differ.
pub fn sample_app(marker: &str) -> Result<Vec<File>, String> {
    let busybox = std::fs::read(BUSYBOX).map_err(|e| {
        format!("cannot read {BUSYBOX} for the sample app: {e}; install busybox-static (scripts/stack up does)")
    })?;
    let dockerfile = "FROM scratch\n\
        COPY busybox /bin/busybox\n\
        COPY site/ /www/\n\
        EXPOSE 8080\n\
        ENTRYPOINT [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n";
    app_files(dockerfile, marker, busybox)
}

/// The sample app at a commit that breaks it: the ENTRYPOINT now reads the port from `$PORT`,
/// which the Deployment does not set, so the container exits with code 1 as soon as it starts.
pub fn broken_app(marker: &str) -> Result<Vec<File>, String> {
    let busybox = std::fs::read(BUSYBOX).map_err(|e| format!("cannot read {BUSYBOX}: {e}"))?;
    let dockerfile = "FROM scratch\n\
        COPY busybox /bin/busybox\n\
        COPY site/ /www/\n\
        EXPOSE 8080\n\
        ENTRYPOINT [\"/bin/busybox\", \"sh\", \"-c\", \"[ -n \\\"$PORT\\\" ] || { echo 'PORT is not set' >&2; exit 1; }; \
        exec /bin/busybox httpd -f -p \\\"$PORT\\\" -h /www\"]\n";
    app_files(dockerfile, marker, busybox)
}

fn app_files(dockerfile: &str, marker: &str, busybox: Vec<u8>) -> Result<Vec<File>, String> {
    let page = format!("<!doctype html>\n<title>hello</title>\n<h1>hello from {marker}</h1>\n");
    Ok(vec![
        File::new("Dockerfile", dockerfile),
        File::executable("busybox", busybox),
        File::new("site/index.html", page),
        File::new("README.md", "Sample app for the Mosaic push demo.\n"),
    ])
}

/// ANSI styling for one stream: on only for a terminal and never with `NO_COLOR` set.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    fn for_stream(tty: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            on: tty && !no_color,
        }
    }
    pub fn stdout() -> Self {
        Self::for_stream(std::io::stdout().is_terminal())
    }
    pub fn stderr() -> Self {
        Self::for_stream(std::io::stderr().is_terminal())
    }
    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn green(self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn red(self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn cyan(self, t: &str) -> String {
        self.paint("36", t)
    }
}

/// Report a panic (the shared test set-up panics on a broken stack) as one `error:` line.
pub fn one_line_errors(program: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("unexpected failure");
        let first = msg.lines().next().unwrap_or_default();
        eprintln!("error: {program}: {first}");
        let rest: Vec<&str> = msg.lines().skip(1).collect();
        if !rest.is_empty() {
            eprintln!("{}", rest.join("\n"));
        }
    }));
}

/// The last `n` lines of `text`, indented.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Keep the server log (its directory goes away on exit) as `mosaic-<what>-<ns>.log` in the
/// temporary directory; returns where, for the failure line.
pub fn keep_log(log: &std::path::Path, what: &str, ns: &str) -> String {
    let to = std::env::temp_dir().join(format!("mosaic-{what}-{ns}.log"));
    match std::fs::copy(log, &to) {
        Ok(_) => format!("mosaic-webhook log kept in {}", to.display()),
        Err(e) => format!("mosaic-webhook log could not be kept: {e}"),
    }
}

/// Watch `api` (with `cfg`), handing every added or changed object over with the moment it
/// arrived. Returns once the initial list is in, so no later change is missed.
pub async fn watch<K>(
    api: Api<K>,
    cfg: watcher::Config,
) -> Result<mpsc::UnboundedReceiver<(Instant, K)>, String>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
    tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut stream = watcher(api, cfg).boxed();
        while let Some(ev) = stream.next().await {
            let at = Instant::now();
            match ev {
                Ok(watcher::Event::Apply(k) | watcher::Event::InitApply(k)) => {
                    if tx.send((at, k)).is_err() {
                        return;
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Ok(()));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(Err(format!("watch failed: {e}")));
                        return;
                    }
                    // A broken watch restarts on the next poll; keep going.
                }
            }
        }
    });
    ready_rx
        .await
        .map_err(|_| "watch ended before its first list".to_string())??;
    Ok(rx)
}

/// Median and 90th percentile (nearest rank) of `xs`, in the units given.
pub fn median_p90(xs: &[f64]) -> (f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    let rank = ((0.9 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    (median, v[rank - 1])
}

/// Deliver `body` as a signed `push` to the webhook at `base`, over a client made beforehand
/// (making one loads the system's root certificates, which is the sender's cost, not Mosaic's).
pub async fn deliver_push(
    http: &reqwest::Client,
    base: &str,
    delivery: &str,
    body: &[u8],
    secret: &str,
) -> Result<(u16, serde_json::Value), String> {
    let resp = http
        .post(format!("{base}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", delivery)
        .header(
            "x-hub-signature-256",
            crate::webhook::sign(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| format!("delivering the push to {base}: {e}"))?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
}
