//! The retry helper: it tries again only what is transient, after the policy's pauses, and
//! says how many tries were made.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Run `retry` over errors of `kinds` (then success), counting calls; returns the calls, the
/// result and the time it took (paused clock).
async fn run(policy: Policy, kinds: &[Kind]) -> (u32, Result<u32, Tried<Kind>>, Duration) {
    let started = Instant::now();
    let mut calls = 0u32;
    let mut heard = 0u32;
    let r = retry(
        &policy,
        |k: &Kind| *k,
        |_, _| heard += 1,
        || {
            calls += 1;
            let n = calls;
            let k = kinds.get(n as usize - 1).copied();
            async move {
                match k {
                    Some(k) => Err(k),
                    None => Ok(n),
                }
            }
        },
    )
    .await;
    assert_eq!(heard, calls - 1, "each try again is heard");
    (calls, r, started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_tried_again_after_each_pause() {
    let pauses = Policy::Pauses(vec![ms(15_000), ms(45_000)]);
    let (calls, r, took) = run(pauses.clone(), &[Kind::Transient, Kind::Transient]).await;
    assert_eq!((calls, r.unwrap(), took), (3, 3, ms(60_000)));
    let (calls, r, took) = run(pauses, &[Kind::Transient; 5]).await;
    let e = r.unwrap_err();
    assert_eq!(
        (calls, e.tries, e.error, took),
        (3, 3, Kind::Transient, ms(60_000))
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_and_permanent_failures_are_not_tried_again() {
    for k in [Kind::Refused, Kind::Permanent] {
        let (calls, r, took) = run(Policy::Pauses(vec![ms(1); 3]), &[k]).await;
        assert_eq!((calls, r.unwrap_err().tries, took), (1, 1, ms(0)));
    }
}

#[tokio::test(start_paused = true)]
async fn doubling_pauses_stop_at_the_tries_or_the_budget() {
    let tries = Policy::Doubling {
        first: ms(500),
        max: ms(60_000),
        tries: Some(4),
        budget: None,
    };
    let (calls, r, took) = run(tries, &[Kind::Transient; 9]).await;
    assert_eq!(
        (calls, r.unwrap_err().tries, took),
        (4, 4, ms(500 + 1000 + 2000))
    );
    let budget = Policy::Doubling {
        first: ms(100),
        max: ms(2000),
        tries: None,
        budget: Some(ms(250)),
    };
    let (calls, _, took) = run(budget, &[Kind::Transient; 9]).await;
    assert_eq!(
        (calls, took),
        (2, ms(100)),
        "tries at 0 and 100 ms; a pause of 200 ms more would overrun"
    );
    let capped = Policy::Doubling {
        first: ms(100),
        max: ms(300),
        tries: Some(5),
        budget: None,
    };
    let (_, _, took) = run(capped, &[Kind::Transient; 9]).await;
    assert_eq!(took, ms(100 + 200 + 300 + 300));
}
