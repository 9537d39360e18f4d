//! Pure rules of the sync protocol, host-tested, no `worker` imports:
//! identifiers, transaction ids, the wire types of the JSON API and what a
//! restore changes.

pub(crate) mod accounts;
pub(crate) mod endpoints;
pub(crate) mod ids;
pub(crate) mod restore;
pub(crate) mod txid;
pub(crate) mod wire;

#[cfg(test)]
mod props;
