//! A TCP proxy on loopback that puts faults between an HTTP client and a real server (the test
//! registry, for drills): pass traffic through, throttle it, stop listening (connection
//! refused, as when the server is down), or answer requests itself with an HTTP status (as a
//! failing server does). One rule can answer only the first request of a connection whose
//! request line matches (a method and a path fragment), passing everything else. Faults change
//! while it runs; going down also cuts the connections in flight.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How the proxy treats new requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything.
    Pass,
    /// Forward at most this many bytes per second in each direction.
    Throttle(u64),
    /// Not listening: connections are refused; open ones are cut.
    Down,
    /// Answer every request with this HTTP status and close.
    Status(u16),
}

/// Answer `status` to the first request of a connection whose request line starts with
/// `method` and contains `path_fragment`, `times` times; other connections follow the mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub method: String,
    pub path_fragment: String,
    pub status: u16,
    pub times: u64,
}

#[derive(Debug, Clone)]
struct Settings {
    mode: Mode,
    rule: Option<Rule>,
    /// Bumped when going down: connection tasks of an older epoch stop.
    epoch: u64,
}

/// What the proxy saw.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub answered: AtomicU64,
    pub forwarded: AtomicU64,
    /// How many more times the rule answers.
    rule_left: AtomicU64,
}

/// A running proxy. Dropping it stops it.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`, what clients connect to.
    pub addr: SocketAddr,
    upstream: SocketAddr,
    settings: watch::Sender<Settings>,
    pub counters: Arc<Counters>,
    answers: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.settings.send_modify(|s| s.epoch += 1);
    }
}

const HEAD_MAX: usize = 64 * 1024;

fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

/// Read until the end of the request line (or EOF / `HEAD_MAX`). Data that does not start like
/// an HTTP request (a TLS hello, say) is returned at once, to be passed through.
async fn read_head(sock: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let http_like = |b: &[u8]| b.first().is_none_or(|c| c.is_ascii_uppercase());
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < HEAD_MAX && http_like(&buf) {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf)
}

async fn answer(sock: &mut TcpStream, status: u16) {
    let body = format!(
        "{{\"errors\":[{{\"code\":\"UNKNOWN\",\"message\":\"injected fault: HTTP {status}\"}}]}}"
    );
    let resp = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reason(status),
        body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Copy `from` to `to`, at most `bps` bytes per second when set.
async fn pump<R, W>(mut from: R, mut to: W, bps: Option<u64>) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let chunk = bps.map_or(64 * 1024, |b| (b / 20).clamp(1, 64 * 1024) as usize);
    let mut buf = vec![0u8; chunk];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            let _ = to.shutdown().await;
            return Ok(());
        }
        to.write_all(&buf[..n]).await?;
        if let Some(b) = bps {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / b.max(1) as f64)).await;
        }
    }
}

async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    settings: watch::Receiver<Settings>,
    counters: Arc<Counters>,
    answers: Arc<Mutex<Vec<String>>>,
) {
    let s = settings.borrow().clone();
    let Ok(head) = read_head(&mut client).await else {
        return;
    };
    let line = String::from_utf8_lossy(head.split(|&b| b == b'\r').next().unwrap_or_default())
        .into_owned();
    let ruled = s.rule.as_ref().filter(|r| {
        line.starts_with(&format!("{} ", r.method))
            && line.contains(r.path_fragment.as_str())
            && counters
                .rule_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    });
    let status = ruled.map(|r| r.status).or(match s.mode {
        Mode::Status(code) => Some(code),
        _ => None,
    });
    if let Some(code) = status {
        counters.answered.fetch_add(1, Ordering::Relaxed);
        answers
            .lock()
            .expect("proxy lock")
            .push(format!("{code} {line}"));
        answer(&mut client, code).await;
        return;
    }
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        return;
    };
    if up.write_all(&head).await.is_err() {
        return;
    }
    counters.forwarded.fetch_add(1, Ordering::Relaxed);
    let bps = match s.mode {
        Mode::Throttle(b) => Some(b),
        _ => None,
    };
    let (cr, cw) = client.into_split();
    let (ur, uw) = up.into_split();
    let mut settings = settings;
    let epoch = s.epoch;
    tokio::select! {
        _ = async { tokio::join!(pump(cr, uw, bps), pump(ur, cw, bps)) } => {}
        _ = settings.wait_for(|n| n.epoch != epoch) => {}
    }
}

impl FaultProxy {
    /// Start on a free loopback port, forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .parse()
            .unwrap_or_else(|e| panic!("proxy upstream {upstream:?} is not host:port: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = watch::channel(Settings {
            mode: Mode::Pass,
            rule: None,
            epoch: 0,
        });
        let counters = Arc::new(Counters::default());
        let answers = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(
            listener,
            addr,
            upstream,
            rx,
            counters.clone(),
            answers.clone(),
        ));
        Self {
            addr,
            upstream,
            settings: tx,
            counters,
            answers,
            task,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The server behind the proxy.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Change the mode for new requests (going `Down` also cuts open connections).
    pub fn set_mode(&self, mode: Mode) {
        self.settings.send_modify(|s| {
            if mode == Mode::Down {
                s.epoch += 1;
            }
            s.mode = mode;
        });
    }

    /// Set or clear the first-request rule.
    pub fn set_rule(&self, rule: Option<Rule>) {
        let times = rule.as_ref().map_or(0, |r| r.times);
        self.counters.rule_left.store(times, Ordering::SeqCst);
        self.settings.send_modify(|s| s.rule = rule);
    }

    /// Every request answered by the proxy itself: `STATUS REQUEST-LINE`.
    pub fn answered(&self) -> Vec<String> {
        self.answers.lock().expect("proxy lock").clone()
    }
}

async fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut settings: watch::Receiver<Settings>,
    counters: Arc<Counters>,
    answers: Arc<Mutex<Vec<String>>>,
) {
    let mut listener = Some(listener);
    loop {
        let Some(l) = &listener else {
            // Down: wait for another mode, then listen again on the same port.
            if settings.wait_for(|s| s.mode != Mode::Down).await.is_err() {
                return;
            }
            listener = loop {
                match TcpListener::bind(addr).await {
                    Ok(l) => break Some(l),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            continue;
        };
        tokio::select! {
            r = l.accept() => {
                let Ok((sock, _)) = r else { continue };
                counters.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection(sock, upstream, settings.clone(), counters.clone(), answers.clone()));
            }
            r = settings.changed() => {
                if r.is_err() {
                    return;
                }
                if settings.borrow().mode == Mode::Down {
                    listener = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn passes_answers_refuses_and_recovers() {
        // A one-line upstream HTTP server.
        let up = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = up.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = up.accept().await {
                tokio::spawn(async move {
                    let _ = read_head(&mut s).await;
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        let p = FaultProxy::start(&up_addr.to_string()).await;
        assert!(
            http_get(p.addr, "/v2/")
                .await
                .unwrap()
                .starts_with("HTTP/1.1 200")
        );
        p.set_mode(Mode::Status(500));
        assert!(
            http_get(p.addr, "/v2/")
                .await
                .unwrap()
                .starts_with("HTTP/1.1 500")
        );
        p.set_mode(Mode::Down);
        // The listener closes asynchronously: poll until connecting is refused.
        let mut refused = false;
        for _ in 0..200 {
            if TcpStream::connect(p.addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "connections are refused while down");
        p.set_mode(Mode::Pass);
        p.set_rule(Some(Rule {
            method: "HEAD".into(),
            path_fragment: "/manifests/".into(),
            status: 503,
            times: 1,
        }));
        let mut back = None;
        for _ in 0..200 {
            if let Ok(r) = http_get(p.addr, "/v2/x/blobs/y").await {
                back = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            back.unwrap().starts_with("HTTP/1.1 200"),
            "back up on the same port"
        );
        let mut s = TcpStream::connect(p.addr).await.unwrap();
        s.write_all(b"HEAD /v2/x/manifests/sha256:1 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 503"), "{out}");
        let mut s = TcpStream::connect(p.addr).await.unwrap();
        s.write_all(
            b"HEAD /v2/x/manifests/sha256:1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200"),
            "the rule answered once: {out}"
        );
        assert_eq!(p.answered().len(), 2);
    }
}
