//! Today's usage as far as the Worker can count it, for the status page's
//! budget meter. Counts accumulate per isolate in memory and are flushed to
//! D1 about once a minute (one row written per flush). Presigned URLs are
//! counted when issued, as the R2 operations they will cause; what clients
//! do with R2 directly is otherwise invisible to the Worker.

use std::cell::RefCell;

pub(crate) use crate::db::meter::Counts;

/// The free plan's daily limits (R2's are monthly: a thirtieth per day).
pub const FREE_PLAN_DAILY: Counts = Counts {
    requests: 100_000,
    rows_read: 5_000_000,
    rows_written: 100_000,
    r2_class_a: 1_000_000 / 30,
    r2_class_b: 10_000_000 / 30,
    do_requests: 100_000,
};

const FLUSH_EVERY_MS: i64 = 60_000;

struct Pending {
    day: String,
    counts: Counts,
    last_flush_ms: i64,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// `YYYY-MM-DD` (UTC) of a ms timestamp.
pub fn day_of(now_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .ok()
        .filter(|t| (1970..=9999).contains(&t.year()))
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|| "1970-01-01".to_string())
}

/// Adds a request's counts; returns what is due to be flushed, if anything
/// (a minute passed, or the day changed).
pub fn record(now_ms: i64, counts: &Counts) -> Option<(String, Counts)> {
    let day = day_of(now_ms);
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let pending = p.get_or_insert_with(|| Pending {
            day: day.clone(),
            counts: Counts::default(),
            last_flush_ms: now_ms,
        });
        let mut due = None;
        if pending.day != day {
            due = Some((
                std::mem::replace(&mut pending.day, day),
                std::mem::take(&mut pending.counts),
            ));
            pending.last_flush_ms = now_ms;
        }
        pending.counts.add(counts);
        if due.is_none() && now_ms - pending.last_flush_ms >= FLUSH_EVERY_MS {
            pending.last_flush_ms = now_ms;
            due = Some((pending.day.clone(), std::mem::take(&mut pending.counts)));
        }
        due.filter(|(_, c)| !c.is_empty())
    })
}

/// What this isolate has counted but not flushed yet.
pub fn unflushed() -> Counts {
    PENDING.with(|p| p.borrow().as_ref().map(|p| p.counts).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_795_681_428_785), "2026-11-26");
    }

    #[test]
    fn flushes_once_a_minute_and_at_midnight() {
        let one = Counts {
            requests: 1,
            ..Counts::default()
        };
        let t0 = 1_795_600_000_000; // some day, 02:13 UTC
        assert_eq!(record(t0, &one), None);
        assert_eq!(record(t0 + 30_000, &one), None);
        let (day, c) = record(t0 + 60_000, &one).unwrap();
        assert_eq!((day.as_str(), c.requests), (day_of(t0).as_str(), 3));
        assert_eq!(unflushed(), Counts::default());
        assert_eq!(record(t0 + 61_000, &one), None);
        let next_day = t0 + 86_400_000;
        let (day, c) = record(next_day, &one).unwrap();
        assert_eq!(day, day_of(t0));
        assert_eq!(c.requests, 1);
        assert_ne!(day_of(next_day), day_of(t0));
        assert_eq!(unflushed().requests, 1);
    }
}
