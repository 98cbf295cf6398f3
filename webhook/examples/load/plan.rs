//! The deliveries the load drill sends: new pushes, late pushes (lost, redelivered after newer
//! ones deployed), duplicates, redeliveries, bad signatures, garbled and oversized bodies,
//! planned up front from a seed so a run can be repeated. Every pushed commit is a real commit
//! of the fake GitHub's graph, each on top of the one before; the sender moves the branch to it
//! when its turn comes, as the push on GitHub would.

use std::time::Instant;

use bytes::Bytes;
use mosaic_tests::webhook::sign;
use serde_json::{Value, json};

pub const SECRET: &str = mosaic_tests::webhook::WEBHOOK_SECRET;
const OVERSIZED: usize = 25 * 1024 * 1024 + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    New,
    /// A push whose first delivery was lost (the branch moved, nothing arrived): delivered only
    /// after the load, once newer commits deployed (an out-of-order redelivery).
    Late,
    Duplicate,
    Redelivery,
    BadSignature,
    Garbled,
    Oversized,
}

impl Kind {
    pub fn good(self) -> bool {
        matches!(
            self,
            Kind::New | Kind::Late | Kind::Duplicate | Kind::Redelivery
        )
    }
    /// A push that moves the branch (its commit is the next on the chain).
    pub fn pushes(self) -> bool {
        matches!(self, Kind::New | Kind::Late)
    }
    pub fn expected(self) -> &'static [u16] {
        match self {
            Kind::New | Kind::Late | Kind::Duplicate | Kind::Redelivery => &[200, 201],
            Kind::BadSignature => &[401],
            Kind::Garbled => &[400],
            Kind::Oversized => &[413],
        }
    }
}

/// One planned request.
#[derive(Clone)]
pub struct Req {
    pub kind: Kind,
    pub delivery: String,
    pub body: Bytes,
    pub signature: String,
    pub commit: Option<String>,
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A random full commit id (40 lowercase hex digits).
    fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next(),
            self.next(),
            self.next() as u32
        )
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pushes are padded to at least this size with more commits, as a push of a few commits is.
const PUSH_SIZE: usize = 10 * 1024;

fn push_body(template: &Value, repo: &str, sha: &str) -> Bytes {
    let mut v = template.clone();
    v["ref"] = "refs/heads/main".into();
    v["after"] = sha.into();
    v["head_commit"]["id"] = sha.into();
    v["repository"]["full_name"] = repo.into();
    let commit = v["head_commit"].clone();
    while serde_json::to_vec(&v).expect("serialise push").len() < PUSH_SIZE {
        match v["commits"].as_array_mut() {
            Some(commits) => commits.push(commit.clone()),
            None => v["commits"] = json!([commit.clone()]),
        }
    }
    Bytes::from(serde_json::to_vec(&v).expect("serialise push"))
}

/// Mean time of one `signature::verify` of `body` (one secret), in microseconds.
pub fn verify_micros(body: &[u8]) -> f64 {
    let secrets = [mosaic_webhook::signature::WebhookSecret::new(SECRET).expect("secret")];
    let sig = sign(SECRET.as_bytes(), body);
    let rounds = 20_000;
    let t = Instant::now();
    for _ in 0..rounds {
        mosaic_webhook::signature::verify(&secrets, Some(sig.as_bytes()), body).expect("verifies");
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

/// The delivery mix: 60% new commits (1 in 20 of them late), 20% duplicates, 10% redeliveries
/// of older commits, 5% bad signatures, 4% garbled and 1% oversized bodies. `commit(i)` makes
/// the next commit of the chain (request `i`'s) and returns its id.
pub fn plan(
    n: usize,
    repo: &str,
    seed: u64,
    only_new: bool,
    commit: &mut dyn FnMut(usize) -> String,
) -> Vec<Req> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/push-branch.json");
    let template: Value =
        serde_json::from_slice(&std::fs::read(path).expect("push template")).expect("JSON");
    let oversized = Bytes::from(vec![b' '; OVERSIZED]);
    let oversized_sig = sign(SECRET.as_bytes(), &oversized);
    let mut rng = Rng(seed | 1);
    let mut out: Vec<Req> = Vec::with_capacity(n);
    let mut news: Vec<usize> = Vec::new();
    for i in 0..n {
        let roll = rng.below(100);
        let kind = match roll {
            _ if news.is_empty() || only_new => Kind::New,
            0..60 => Kind::New,
            60..80 => Kind::Duplicate,
            80..90 => Kind::Redelivery,
            90..95 => Kind::BadSignature,
            95..99 => Kind::Garbled,
            _ => Kind::Oversized,
        };
        let delivery = format!("load-{seed:x}-{i}");
        let req = match kind {
            Kind::New => {
                let sha = commit(i);
                let body = push_body(&template, repo, &sha);
                // The first push is never late: the Deployment needs a head to move from.
                let late = !only_new && !news.is_empty() && rng.below(20) == 0;
                if !late {
                    news.push(i);
                }
                Req {
                    kind: if late { Kind::Late } else { kind },
                    delivery,
                    signature: sign(SECRET.as_bytes(), &body),
                    body,
                    commit: Some(sha),
                }
            }
            Kind::Late => unreachable!("planned as a New push"),
            Kind::Duplicate => {
                let mut r = out[rng.below(i)].clone();
                if !matches!(r.kind, Kind::New | Kind::Duplicate | Kind::Redelivery) {
                    r = out[news[rng.below(news.len())]].clone();
                }
                Req { kind, ..r }
            }
            Kind::Redelivery => {
                let old = &out[news[rng.below(news.len())]];
                Req {
                    kind,
                    delivery,
                    ..old.clone()
                }
            }
            Kind::BadSignature => {
                let sha = rng.sha();
                let body = push_body(&template, repo, &sha);
                Req {
                    kind,
                    delivery,
                    signature: sign(b"not-the-secret", &body),
                    body,
                    commit: Some(sha),
                }
            }
            Kind::Garbled => {
                let good = push_body(&template, repo, &format!("{:040x}", i));
                let cut = 1 + rng.below(good.len() - 2);
                let body = good.slice(..cut);
                Req {
                    kind,
                    delivery,
                    signature: sign(SECRET.as_bytes(), &body),
                    body,
                    commit: None,
                }
            }
            Kind::Oversized => Req {
                kind,
                delivery,
                body: oversized.clone(),
                signature: oversized_sig.clone(),
                commit: None,
            },
        };
        out.push(req);
    }
    out
}
