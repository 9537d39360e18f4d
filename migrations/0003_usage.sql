-- Today's usage as far as the Worker can count it (status page budget meter).
-- Isolates add up their counts in memory and flush them here about once a
-- minute: one row written per flush, not per request.
CREATE TABLE usage_daily (
  day           TEXT PRIMARY KEY,       -- YYYY-MM-DD (UTC)
  requests      INTEGER NOT NULL DEFAULT 0,
  rows_read     INTEGER NOT NULL DEFAULT 0,
  rows_written  INTEGER NOT NULL DEFAULT 0,
  r2_class_a    INTEGER NOT NULL DEFAULT 0,
  r2_class_b    INTEGER NOT NULL DEFAULT 0,
  do_requests   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
