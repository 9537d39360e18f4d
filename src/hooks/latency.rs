//! Local benchmarks only (docs/PERFORMANCE.md "Round trips"): a delay before
//! every D1 and R2 call, so that the bench can count the sequential storage
//! round trips of each endpoint from its wall time, as a user far from the
//! database would feel them. Set per request from `x-bench-latency-ms`, and
//! only when `BENCH_TIMING=true` (src/lib.rs); everywhere else it is 0 and
//! every call goes straight out.

use std::cell::Cell;
use std::time::Duration;

thread_local! {
    static DELAY_MS: Cell<u64> = const { Cell::new(0) };
}

/// Sets the delay for calls from this isolate (read from the environment on
/// every request, so it is 0 unless the variable is set).
pub fn set_delay_ms(ms: u64) {
    DELAY_MS.set(ms);
}

/// Waits the injected delay, if any, before a storage call.
pub async fn before_storage_call() {
    let ms = DELAY_MS.get();
    if ms > 0 {
        worker::Delay::from(Duration::from_millis(ms)).await;
    }
}
