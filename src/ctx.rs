//! What every handler is given: the request's context (storage, config, the
//! clock of this request, its meter) and the authenticated caller. Below
//! every layer that handles requests, so that all of them import it
//! downwards.

use worker::{Bucket, ObjectNamespace};

use crate::config::Config;
use crate::db::meter::Counts;
use crate::db::Db;
use crate::hooks::fault::Fault;

/// What a handler may use: storage, configuration, the clock of this request.
pub struct Ctx {
    pub db: Db,
    pub config: Config,
    pub bucket: Bucket,
    pub hub: Option<ObjectNamespace>,
    /// Milliseconds since the epoch, taken once per request (`worker::Date`).
    pub now_ms: i64,
    /// Public origin of this Worker, for URLs to its own `/s3/` endpoint.
    pub origin: String,
    /// Work to finish after the response (hub pushes, trash draining).
    pub after: std::cell::RefCell<Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>>,
    /// R2 and Durable Object operations this request caused (status page meter).
    pub meter: std::cell::Cell<Counts>,
    /// The graph this request is about, for the access log (ids are not secret).
    pub graph: std::cell::RefCell<Option<String>>,
    /// A failure to inject into this request (tests only, `fault.rs`).
    pub fault: Option<Fault>,
}

impl Ctx {
    pub fn now_secs(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// Counts operations against the free plan's budget.
    pub fn count(&self, f: impl FnOnce(&mut Counts)) {
        let mut c = self.meter.get();
        f(&mut c);
        self.meter.set(c);
    }

    /// Queues work to run after the response is sent.
    pub fn defer(&self, fut: impl std::future::Future<Output = ()> + 'static) {
        self.after.borrow_mut().push(Box::pin(fut));
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
}
