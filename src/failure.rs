//! Why a block could not be applied: made by the apply path when a block fails
//! (`apply::block`), kept with the held block and read by the ledger's rules (`ledger`).

/// Why a block could not be applied, and so is held (under `evp.on_error = hold`): the event
/// that failed, if an event did (otherwise a statement of the block's bookkeeping, or a lock or
/// statement timeout), its SQLSTATE and the reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockFailure {
    pub vault: Option<String>,
    pub nonce: Option<i64>,
    pub event: Option<String>,
    pub sqlstate: String,
    pub reason: String,
}

impl BlockFailure {
    /// "vault 0x1, event nonce 7 (BidPlaced): <reason> [23514]", or "<reason> [57014]" when no
    /// event failed (a lock or statement timeout, say).
    pub fn describe(&self) -> String {
        match (&self.vault, self.nonce, &self.event) {
            (Some(vault), Some(nonce), Some(event)) => format!(
                "vault {vault}, event nonce {nonce} ({event}): {} [{}]",
                self.reason, self.sqlstate
            ),
            _ => format!("{} [{}]", self.reason, self.sqlstate),
        }
    }

    /// What fixes it: the call that tries again, and how to skip the event on purpose.
    pub fn fix(&self) -> &'static str {
        if self.event.is_some() {
            "delete or correct the event in the events table and SELECT evp_catchup(); or skip it on purpose: \
             BEGIN; SET LOCAL evp.on_error = 'skip'; SELECT evp_catchup(1); COMMIT (it is recorded in \
             evp.failed_events)"
        } else {
            "once the cause is gone (a lock or statement timeout: the transaction that held the lock, or a \
             longer timeout), SELECT evp_catchup()"
        }
    }
}
