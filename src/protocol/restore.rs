//! What a restore of a graph to transaction N changes (pure, host-tested;
//! the SQL is in `db/history.rs`, the admin route in `admin_history.rs`).
//!
//! The state after transaction N is read from two sets: the current files
//! written after N (`files.txid > N`) and the kept bodies that were current at
//! N (`versions.from_txid <= N < to_txid`, migration 0006). Every other
//! current file was already there, unchanged, at N. So:
//! * a body current at N whose path now holds another object comes back
//!   (`reverted` when the path exists now, `revived` when it was deleted);
//! * a current file written after N without a body at N did not exist at N
//!   and is deleted (`removed`).
//!
//! The client applies a transaction either as updates or as deletions,
//! chosen by its `TXType` (LS sync.cljs:410-434: `update_files` tuples
//! without a checksum are dropped), so a restore that both brings bodies back
//! and removes files is committed as two transactions in one D1 batch: an
//! `update_files` at T+1 and a `delete_files` at T+2. No client can commit
//! between them, and one `get_diff` hands both to every device.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most files one restore request commits. A bigger restore is committed in
/// pages, one request each (the CLI and the admin page repeat the request
/// until it is complete): measured locally, committing 500 files takes about
/// 7 ms of Worker time and 2,000 files 27 ms, against the free plan's 10 ms
/// CPU per invocation (docs/RESTORE.md).
pub const RESTORE_PAGE: usize = 500;

/// A body of a path: the object it is stored in and the client's checksum.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Body {
    pub path: String,
    pub blob_key: String,
    pub checksum: String,
    pub size: i64,
}

/// Counts and bytes of one kind of change.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub files: usize,
    pub bytes: i64,
}

impl Tally {
    fn add(&mut self, size: i64) {
        self.files += 1;
        self.bytes += size;
    }
}

/// What a restore does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Bodies to make current again (reverted and revived), sorted by path.
    pub bring_back: Vec<Body>,
    /// Current paths to delete (created after N), sorted.
    pub remove: Vec<Body>,
    pub reverted: Tally,
    pub revived: Tally,
    pub removed: Tally,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.bring_back.is_empty() && self.remove.is_empty()
    }

    pub fn files(&self) -> usize {
        self.bring_back.len() + self.remove.len()
    }

    /// The first `limit` changes: bodies to bring back first, then removals.
    /// Committing it and planning again gives the rest (what was committed
    /// is then unchanged since N or gone), so pages converge on the target.
    pub fn page(&self, limit: usize) -> Plan {
        let back = self.bring_back.len().min(limit);
        let gone = self.remove.len().min(limit - back);
        Plan {
            bring_back: self.bring_back[..back].to_vec(),
            remove: self.remove[..gone].to_vec(),
            ..Plan::default()
        }
    }

    /// How many transactions committing the plan takes (0, 1 or 2).
    pub fn transactions(&self) -> i64 {
        i64::from(!self.bring_back.is_empty()) + i64::from(!self.remove.is_empty())
    }
}

/// The plan from the current files written after N and the bodies current at N.
pub fn plan(changed_current: Vec<Body>, at_n: Vec<Body>) -> Plan {
    let mut current: BTreeMap<String, Body> = changed_current
        .into_iter()
        .map(|b| (b.path.clone(), b))
        .collect();
    let mut p = Plan::default();
    let mut at_n = at_n;
    at_n.sort_by(|a, b| a.path.cmp(&b.path));
    at_n.dedup_by(|a, b| a.path == b.path);
    for body in at_n {
        match current.remove(&body.path) {
            Some(now) if now.blob_key == body.blob_key => {}
            Some(_) => {
                p.reverted.add(body.size);
                p.bring_back.push(body);
            }
            // Not a current file: deleted after N (a current file with a
            // body that ended after N was itself written after N).
            None => {
                p.revived.add(body.size);
                p.bring_back.push(body);
            }
        }
    }
    for (_, body) in current {
        p.removed.add(body.size);
        p.remove.push(body);
    }
    p
}

/// Why a restore to `target` cannot be done, or None. `current` is the
/// graph's txid, `restorable_from` the oldest txid its kept history reaches,
/// `rename_after` the newest legacy rename_file transaction after `target`.
pub fn refusal(
    target: i64,
    current: i64,
    restorable_from: i64,
    rename_after: Option<i64>,
) -> Option<String> {
    if target < 0 {
        return Some(format!("txid {target} does not exist (txids start at 0)"));
    }
    if target > current {
        return Some(format!(
            "txid {target} does not exist yet: the graph is at txid {current}"
        ));
    }
    if target < restorable_from {
        return Some(format!(
            "txid {target} is older than the kept history: this graph can be restored to txid {restorable_from} at the earliest (versions older than the retention period are deleted)"
        ));
    }
    if let Some(r) = rename_after {
        return Some(format!(
            "transaction {r} is a legacy rename_file, which a restore cannot undo: restore to txid {r} or later"
        ));
    }
    None
}

/// Why a graph deleted at `deleted_at` can no longer be undeleted at `now`
/// with an undelete period of `days`, or None.
pub fn undelete_refusal(graph_id: &str, deleted_at: i64, now: i64, days: i64) -> Option<String> {
    let until = deleted_at + days * 24 * 3600 * 1000;
    (until <= now).then(|| {
        format!(
            "graph {graph_id} was deleted at {deleted_at} ms; its undelete period ({days} days) ended at {until} ms"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(path: &str, key: &str, size: i64) -> Body {
        Body {
            path: path.into(),
            blob_key: key.into(),
            checksum: format!("{key:0>32}"),
            size,
        }
    }

    #[test]
    fn written_after_n_goes_back_created_after_n_goes_deleted_after_n_comes_back() {
        let changed = vec![b("e.aa", "k2", 20), b("e.bb", "k3", 30)];
        let at_n = vec![b("e.aa", "k1", 10), b("e.cc", "k4", 40)];
        let p = plan(changed, at_n);
        assert_eq!(p.bring_back, vec![b("e.aa", "k1", 10), b("e.cc", "k4", 40)]);
        assert_eq!(p.remove, vec![b("e.bb", "k3", 30)]);
        assert_eq!(
            p.reverted,
            Tally {
                files: 1,
                bytes: 10
            }
        );
        assert_eq!(
            p.revived,
            Tally {
                files: 1,
                bytes: 40
            }
        );
        assert_eq!(
            p.removed,
            Tally {
                files: 1,
                bytes: 30
            }
        );
        assert_eq!(p.transactions(), 2);
    }

    #[test]
    fn a_path_already_holding_its_body_at_n_is_left_alone() {
        let p = plan(vec![b("e.aa", "k1", 10)], vec![b("e.aa", "k1", 10)]);
        assert!(p.is_empty());
        assert_eq!(p.transactions(), 0);
    }

    #[test]
    fn only_updates_or_only_deletions_take_one_transaction() {
        assert_eq!(
            plan(vec![b("e.aa", "k2", 1)], vec![b("e.aa", "k1", 1)]).transactions(),
            1
        );
        assert_eq!(plan(vec![b("e.aa", "k2", 1)], vec![]).transactions(), 1);
    }

    #[test]
    fn pages_take_bodies_first_then_removals_and_cover_everything() {
        let changed: Vec<Body> = (0..5).map(|i| b(&format!("e.{i:02}"), "new", 1)).collect();
        let at_n: Vec<Body> = (0..3).map(|i| b(&format!("e.{i:02}"), "old", 1)).collect();
        let p = plan(changed, at_n);
        assert_eq!((p.bring_back.len(), p.remove.len()), (3, 2));
        let first = p.page(4);
        assert_eq!((first.bring_back.len(), first.remove.len()), (3, 1));
        assert_eq!(first.transactions(), 2);
        let small = p.page(2);
        assert_eq!((small.bring_back.len(), small.remove.len()), (2, 0));
        assert_eq!(small.transactions(), 1);
        assert_eq!(p.page(100).files(), p.files());
    }

    #[test]
    fn undelete_is_refused_once_the_period_ended() {
        let day = 24 * 3600 * 1000;
        assert_eq!(undelete_refusal("g", 0, 30 * day - 1, 30), None);
        assert!(
            undelete_refusal("g", 0, 30 * day, 30).is_some_and(|m| m.contains("(30 days) ended"))
        );
        assert!(undelete_refusal("g", 0, 1, 0).is_some());
    }

    #[test]
    fn refusals_say_how_far_back_one_can_go() {
        assert!(refusal(-1, 5, 0, None).is_some_and(|m| m.contains("does not exist")));
        assert!(refusal(6, 5, 0, None).is_some_and(|m| m.contains("at txid 5")));
        assert!(refusal(2, 5, 3, None).is_some_and(|m| m.contains("txid 3 at the earliest")));
        assert!(refusal(3, 5, 1, Some(4)).is_some_and(|m| m.contains("txid 4 or later")));
        assert_eq!(refusal(3, 5, 3, None), None);
        assert_eq!(refusal(5, 5, 0, None), None);
    }
}
