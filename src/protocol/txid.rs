//! The transaction-id rules (PROTOCOL.md §9).

/// Width both numbers are zero-padded to in the conflict message.
const PAD: usize = 20;

/// The 409 message of a stale `TXId`. The client matches
/// `(\d+), txid_to_validate = (\d+)` and compares the two captures as
/// *strings* (LS sync.cljs:1802-1819), so both are zero-padded to one width:
/// unpadded, a client at 99 facing a server at 100 would take the wrong branch.
pub fn conflict_message(server: i64, client: i64) -> String {
    format!("txid conflict: server txid, {server:0PAD$}, txid_to_validate = {client:0PAD$}")
}

/// A client txid is a non-negative integer (LS sync.cljs:205-211).
pub fn is_valid_txid(txid: i64) -> bool {
    txid >= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's own regex and string comparison, reproduced.
    fn client_reads(msg: &str) -> (String, String) {
        let idx = msg.find(", txid_to_validate = ").unwrap();
        let server: String = msg[..idx]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let client: String = msg[idx + ", txid_to_validate = ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        (server, client)
    }

    #[test]
    fn string_comparison_agrees_with_numbers() {
        for (s, c) in [
            (100, 99),
            (99, 100),
            (5, 5),
            (10_000, 9_999),
            (0, 1),
            (i64::MAX, 0),
        ] {
            let (gs, gc) = client_reads(&conflict_message(s, c));
            assert_eq!(gs.cmp(&gc), s.cmp(&c), "server {s} client {c}");
            assert_eq!(gs.parse::<i64>().unwrap(), s);
            assert_eq!(gc.parse::<i64>().unwrap(), c);
        }
    }

    #[test]
    fn negative_txids_are_invalid() {
        assert!(is_valid_txid(0));
        assert!(!is_valid_txid(-1));
    }
}
