//! Durations as Kubernetes writes them (Go's `time.ParseDuration`: `30s`, `1m30s`, `500ms`,
//! `2h`): the one parser for durations in Mosaic's resources and flags.

use std::time::Duration;

/// The pattern a duration field of a custom resource must match (checked by the API server).
pub const DURATION_PATTERN: &str = r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$";

/// Parse `s`, e.g. `90s`, `1m30s`, `1.5h`, `250ms`, or `0`. A number needs a unit.
pub fn parse(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let bad = |why: &str| {
        format!("invalid duration {s:?}: {why}; write a number with a unit, e.g. 30s, 2m or 1m30s")
    };
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad("a unit must follow a number"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| bad("it is not a number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(bad("the number has no unit")),
            other => return Err(bad(&format!("unknown unit {other:?}"))),
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    // A week of waiting is not a meaningful rollout setting; it is also far from overflowing.
    if !total.is_finite() || total > 7.0 * 86_400.0 {
        return Err(bad("it is longer than a week"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// A command-line duration as kubectl reads one: a bare number is seconds (`--timeout 90`),
/// anything else as [`parse`]. `0` is zero: a caller for which zero means "no limit" uses
/// [`parse_limit`].
pub fn parse_flag(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => parse(s),
    }
}

/// A limit given on the command line (`--request-timeout`, `deploy --timeout`), read as
/// [`parse_flag`]; `0` means there is none, as kubectl's `--request-timeout=0`.
pub fn parse_limit(s: &str) -> Result<Option<Duration>, String> {
    parse_flag(s).map(|d| (!d.is_zero()).then_some(d))
}

/// Write `d` the way `parse` reads it, in whole seconds when it has no fraction (`90s`).
pub fn format(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_kubernetes_writes() {
        for (s, secs) in [
            ("30s", 30.0),
            ("1m30s", 90.0),
            ("2h", 7200.0),
            ("1.5m", 90.0),
            ("250ms", 0.25),
            ("0", 0.0),
            ("0s", 0.0),
        ] {
            assert_eq!(parse(s).unwrap().as_secs_f64(), secs, "{s}");
        }
    }

    #[test]
    fn refuses_with_what_to_write() {
        for s in ["", "30", "s", "3x", "1.2.3s", "-5s", "9999h"] {
            let e = parse(s).unwrap_err();
            assert!(e.contains("e.g. 30s"), "{s}: {e}");
        }
    }

    #[test]
    fn the_pattern_agrees_with_the_parser() {
        let re = regex::Regex::new(DURATION_PATTERN).unwrap();
        for s in ["30s", "1m30s", "0", "250ms", "1.5h"] {
            assert!(re.is_match(s) && parse(s).is_ok(), "{s}");
        }
        for s in ["30", "s", "", "1 m"] {
            assert!(!re.is_match(s) && parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn flags_take_bare_seconds_and_limits_take_zero_as_none() {
        assert_eq!(parse_flag("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse_flag("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_flag("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_flag("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_flag("0"), Ok(Duration::ZERO));
        assert_eq!(parse_limit("0"), Ok(None));
        assert_eq!(parse_limit("0s"), Ok(None));
        assert_eq!(parse_limit("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_limit("2m"), Ok(Some(Duration::from_secs(120))));
        for bad in ["5d", "m", "abc", "-1", ""] {
            assert!(parse_flag(bad).unwrap_err().contains("e.g. 30s"), "{bad}");
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for d in [Duration::from_secs(90), Duration::from_millis(1500)] {
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }
}
