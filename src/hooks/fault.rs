//! Fault injection for the reliability tests: with the var
//! `FAULT_INJECTION=true` (set only by `npm test`, never by a deploy), a
//! request header `x-fault-inject: <name>` makes one dependency fail the way
//! it can fail in production, so tests can prove nothing is lost.

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A D1 batch fails in the middle (a failing statement between its
    /// statements): the whole transaction must roll back.
    D1Batch,
    /// The websocket hub is unreachable.
    Hub,
    /// R2 fails while serving a download.
    R2Get,
    /// R2 fails while storing an upload.
    R2Put,
}

impl Fault {
    pub fn parse(s: &str) -> Option<Fault> {
        match s.trim() {
            "d1-batch" => Some(Fault::D1Batch),
            "hub" => Some(Fault::Hub),
            "r2-get" => Some(Fault::R2Get),
            "r2-put" => Some(Fault::R2Put),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Fault::parse("d1-batch"), Some(Fault::D1Batch));
        assert_eq!(Fault::parse("hub"), Some(Fault::Hub));
        assert_eq!(Fault::parse("r2-get"), Some(Fault::R2Get));
        assert_eq!(Fault::parse("r2-put"), Some(Fault::R2Put));
        assert_eq!(Fault::parse("other"), None);
    }
}
