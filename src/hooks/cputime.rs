//! Local benchmark hook (docs/PERFORMANCE.md, "Worker compute"): the time a
//! request spends inside the Worker's own code, that is in the polls of its
//! future, excluding the awaited I/O between them. Only meaningful under
//! `wrangler dev`: deployed, the clock stands still while code runs (it moves
//! on I/O only) and the figure reads 0. Locally the clock has 1 ms resolution,
//! so one reading is coarse but the mean over many requests is unbiased.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A future that adds the wall time of each poll of `inner` to `spent`.
pub struct PollTimer<F> {
    inner: Pin<Box<F>>,
    spent: Rc<Cell<u64>>,
}

/// Wraps `fut`; the returned cell holds the milliseconds spent in its polls.
pub fn timed<F: Future>(fut: F) -> (PollTimer<F>, Rc<Cell<u64>>) {
    let spent = Rc::new(Cell::new(0));
    let timer = PollTimer {
        inner: Box::pin(fut),
        spent: spent.clone(),
    };
    (timer, spent)
}

impl<F: Future> Future for PollTimer<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let start = worker::Date::now().as_millis();
        let out = self.inner.as_mut().poll(cx);
        let end = worker::Date::now().as_millis();
        self.spent.set(self.spent.get() + end.saturating_sub(start));
        out
    }
}
