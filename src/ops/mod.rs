//! Operating the server: the admin interface, getting notes back, the
//! scheduled cleanup, the status page and its budget meter.

pub(crate) mod admin;
pub(crate) mod admin_history;
pub(crate) mod cleanup;
pub(crate) mod meter;
pub(crate) mod status;
