//! CronJob schedules as the CronJob controller reads them (the standard five fields:
//! minute, hour, day of month, month, day of week; `*`, `?`, lists, ranges, steps,
//! month and weekday names, and the `@hourly`-style descriptors), and the question
//! explain asks of them: which start times passed between two instants. Times are
//! UTC; a CronJob in another time zone is answered conservatively by the caller.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// The day-of-month or day-of-week field was `*` or `?`: both must match
    /// (else either may, as in cron).
    day_star: bool,
    /// A `CRON_TZ=`/`TZ=` prefix, when the schedule names a zone itself.
    pub zone: Option<String>,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses a schedule; the error says what is wrong, in words.
pub fn parse(spec: &str) -> Result<Schedule, String> {
    let mut s = spec.trim();
    let mut zone = None;
    for prefix in ["CRON_TZ=", "TZ="] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let (z, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            zone = Some(z.to_string());
            s = tail.trim();
        }
    }
    let expanded = match s {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other if other.starts_with('@') => {
            return Err(format!("descriptor {other:?} is not evaluated"));
        }
        other => other,
    };
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected 5 fields, found {}", fields.len()));
    }
    let (days, dom_star) = field(fields[2], 1, 31, &[])?;
    let (weekdays, dow_star) = field(fields[4], 0, 6, &WEEKDAYS)?;
    Ok(Schedule {
        minutes: field(fields[0], 0, 59, &[])?.0,
        hours: field(fields[1], 0, 23, &[])?.0,
        days,
        months: field(fields[3], 1, 12, &MONTHS)?.0,
        weekdays,
        day_star: dom_star || dow_star,
        zone,
    })
}

/// One field as a bit set, and whether it was a plain `*`/`?`.
fn field(expr: &str, min: u32, max: u32, names: &[&str]) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in expr.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(
                    s.parse::<u32>()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("bad step in {part:?}"))?,
                ),
            ),
            None => (part, None),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            star |= step.unwrap_or(1) == 1;
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, names)?, value(b, min, names)?)
        } else {
            let v = value(range, min, names)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part:?} is outside {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step.unwrap_or(1);
        }
    }
    Ok((bits, star))
}

fn value(s: &str, min: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + min);
    }
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

impl Schedule {
    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days & (1 << t.day()) != 0;
        let dow = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first start time strictly after `t`, looking at most about five years ahead.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = t + Duration::days(5 * 366);
        while t <= limit {
            if self.months & (1 << t.month()) == 0 {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = t.with_day(1)?.with_hour(0)?.with_minute(0)?;
                t = t.with_month(m).and_then(|x| x.with_year(y))?;
                continue;
            }
            if !self.day_matches(&t) {
                t = t.with_hour(0)?.with_minute(0)? + Duration::days(1);
                continue;
            }
            if self.hours & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? + Duration::hours(1);
                continue;
            }
            if self.minutes & (1 << t.minute()) == 0 {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }

    /// The start times in `(from, to]`: how many (counting stops at `cap`), the first
    /// and the last one counted.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>, cap: u32) -> Missed {
        let mut out = Missed::default();
        let mut t = from;
        while out.count < cap {
            match self.next_after(t) {
                Some(n) if n <= to => {
                    out.count += 1;
                    out.first.get_or_insert(n);
                    out.last = Some(n);
                    t = n;
                }
                _ => break,
            }
        }
        out
    }
}

/// Start times found by [`Schedule::between`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Missed {
    pub count: u32,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(spec: &str, from: &str) -> String {
        parse(spec)
            .unwrap()
            .next_after(t(from))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn next_start_times() {
        assert_eq!(
            next("*/15 * * * *", "2024-05-01T10:07:30Z"),
            "2024-05-01T10:15:00+00:00"
        );
        assert_eq!(
            next("0 3 * * *", "2024-05-01T03:00:00Z"),
            "2024-05-02T03:00:00+00:00"
        );
        assert_eq!(
            next("@hourly", "2024-12-31T23:30:00Z"),
            "2025-01-01T00:00:00+00:00"
        );
        assert_eq!(
            next("30 2 1 JAN,jul ?", "2024-02-01T00:00:00Z"),
            "2024-07-01T02:30:00+00:00"
        );
        // 2024-05-01 is a Wednesday; MON-FRI/2 = Mon, Wed, Fri.
        assert_eq!(
            next("0 9 * * MON-FRI/2", "2024-05-01T10:00:00Z"),
            "2024-05-03T09:00:00+00:00"
        );
        // Day of month and day of week both restricted: either matches.
        assert_eq!(
            next("0 0 13 * 5", "2024-05-01T00:00:00Z"),
            "2024-05-03T00:00:00+00:00"
        );
        let never = parse("0 0 31 2 *").unwrap();
        assert_eq!(never.next_after(t("2024-01-01T00:00:00Z")), None);
    }

    #[test]
    fn counts_start_times_between() {
        let s = parse("0 * * * *").unwrap();
        let m = s.between(t("2024-05-01T10:00:00Z"), t("2024-05-01T15:30:00Z"), 100);
        assert_eq!(m.count, 5);
        assert_eq!(m.first, Some(t("2024-05-01T11:00:00Z")));
        assert_eq!(m.last, Some(t("2024-05-01T15:00:00Z")));
        let capped = parse("* * * * *").unwrap().between(
            t("2024-05-01T00:00:00Z"),
            t("2024-05-02T00:00:00Z"),
            101,
        );
        assert_eq!(capped.count, 101);
    }

    #[test]
    fn bad_schedules_say_why() {
        assert!(parse("* * *").unwrap_err().contains("5 fields"));
        assert!(parse("61 * * * *").unwrap_err().contains("outside"));
        assert!(parse("*/0 * * * *").unwrap_err().contains("step"));
        assert!(parse("@every 5m").unwrap_err().contains("not evaluated"));
        assert!(parse("x * * * *").unwrap_err().contains("not a number"));
        let z = parse("CRON_TZ=Europe/Paris 0 3 * * *").unwrap();
        assert_eq!(z.zone.as_deref(), Some("Europe/Paris"));
    }
}
