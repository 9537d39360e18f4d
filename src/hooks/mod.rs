//! Test and benchmark instrumentation, inert unless a var turns it on:
//! fault injection (`FAULT_INJECTION`), the per-call storage delay and the
//! Worker's own time (`BENCH_TIMING`).

pub(crate) mod cputime;
pub(crate) mod fault;
pub(crate) mod latency;
