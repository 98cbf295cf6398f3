//! Following one push live: stage lines stamped with the seconds since the delivery, for the
//! Build's phases, the commit statuses GitHub receives and what the stand-in controller and
//! kubelet do, until the Build is terminal.

use std::time::{Duration, Instant};

use mosaic_core::resources::{Build, BuildPhase};
use tokio::sync::mpsc::UnboundedReceiver;

use mosaic_tests::demo::{self, Played, Style};
use mosaic_tests::webhook;

/// The longest the demo waits for one push's flow.
pub const DEADLINE: Duration = Duration::from_secs(120);

pub fn short(sha: &str) -> &str {
    &sha[..7.min(sha.len())]
}

/// Prints stage lines on stdout, stamped with the seconds since the push was delivered.
pub struct Stages {
    pub t0: Instant,
    pub out: Style,
}

impl Stages {
    pub fn line(&self, at: Instant, who: &str, what: &str) {
        let t = at.saturating_duration_since(self.t0).as_secs_f64();
        let stamp = self.out.dim(&format!("{t:>+7.2}s"));
        println!("{stamp}  {:<18} {}", self.out.cyan(who), brief(what));
    }
}

/// `text` with every `sha256:<64 hex>` cut to its first 12 hex digits and `…`, so stage lines
/// fit a terminal (the report prints the digest in full once).
pub fn brief(text: &str) -> String {
    const MARK: &str = "sha256:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        let (head, tail) = rest.split_at(i + MARK.len());
        out.push_str(head);
        let hex = tail.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str(&tail[..12]);
            out.push('…');
            rest = &tail[64..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

pub fn phase_of(b: &Build) -> BuildPhase {
    b.status.as_ref().map(|s| s.phase).unwrap_or_default()
}

fn paint_phase(out: Style, p: BuildPhase) -> String {
    let text = format!("{:<10}", p.as_str());
    match p {
        BuildPhase::Succeeded => out.green(&text),
        BuildPhase::Failed | BuildPhase::Cancelled => out.red(&text),
        BuildPhase::Superseded => out.yellow(&text),
        _ => out.bold(&text),
    }
}

/// Print stage lines until Build `name` is terminal; returns it with the phases it went
/// through, or why it did not finish.
pub async fn follow(
    w: &webhook::World,
    server: &webhook::Server,
    st: &Stages,
    name: &str,
    sha: &str,
    builds: &mut UnboundedReceiver<(Instant, Build)>,
    played: &mut UnboundedReceiver<Played>,
) -> Result<(Build, Vec<BuildPhase>), String> {
    let deadline = tokio::time::sleep(DEADLINE);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut phases: Vec<BuildPhase> = Vec::new();
    let mut last: Option<Build> = None;
    let mut statuses = 0;
    let mut print_statuses = |at: Instant| {
        let all = w.gh.statuses(sha);
        for s in &all[statuses.min(all.len())..] {
            st.line(
                at,
                "webhook -> github",
                &format!(
                    "commit status {} {} {:?}",
                    short(sha),
                    s.state,
                    s.description
                ),
            );
        }
        statuses = all.len();
    };
    loop {
        tokio::select! {
            Some((at, b)) = builds.recv() => {
                if b.metadata.name.as_deref() != Some(name) {
                    continue;
                }
                print_statuses(at);
                let p = phase_of(&b);
                if phases.last() != Some(&p) {
                    phases.push(p);
                    let s = b.status.clone().unwrap_or_default();
                    let msg = match (p, s.reason, s.message) {
                        (BuildPhase::Failed, Some(reason), _) => format!("{reason} (cause and evidence below)"),
                        (_, _, Some(m)) => m,
                        _ => "recorded by the intake, waiting for a worker".into(),
                    };
                    st.line(at, "build", &format!("{} {msg}", paint_phase(st.out, p)));
                }
                let done = p.is_terminal();
                last = Some(b);
                if done {
                    break;
                }
            }
            Some(p) = played.recv() => {
                print_statuses(Instant::now());
                show(st, p);
            }
            _ = tick.tick() => print_statuses(Instant::now()),
            () = &mut deadline => {
                let (phase, msg) = last.as_ref().map(|b| (phase_of(b), b.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default())).unwrap_or_default();
                return Err(format!(
                    "Build {name} did not finish within {} s (still {phase}: {msg}); {}",
                    DEADLINE.as_secs(), demo::keep_log(&server.log, "demo-push", w.ns())));
            }
        }
    }
    print_statuses(Instant::now());
    Ok((last.expect("loop exits with a Build"), phases))
}

/// After a failed push, print what the stand-in does until the rollback has rolled out and the
/// crashing pod is gone (at most 10 s).
pub async fn settle(st: &Stages, played: &mut UnboundedReceiver<Played>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (mut rolled, mut gone) = (false, false);
    while !(rolled && gone) {
        match tokio::time::timeout_at(deadline, played.recv()).await {
            Ok(Some(p)) => {
                rolled |= matches!(p, Played::Rolled(_));
                gone |= matches!(p, Played::Pod { gone: true, .. });
                show(st, p);
            }
            Ok(None) | Err(_) => return,
        }
    }
}

fn show(st: &Stages, p: Played) {
    match p {
        Played::Rolled(r) => st.line(
            r.done,
            "controller",
            &format!(
                "(stand-in) Deployment web generation {} runs {}: rollout complete",
                r.generation, r.image
            ),
        ),
        Played::Pod { at, text, .. } => st.line(at, "cluster", &text),
    }
}
