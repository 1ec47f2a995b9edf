//! Applying blocks from SQL: the trigger entry points (schema `evp`) and `evp_catchup()`.

use crate::apply::catch_up;
use pgrx::prelude::*;
use pgrx::spi::Spi;

#[pg_schema]
mod evp {
    use crate::apply::{apply_block, apply_late_events};
    use crate::guc::{Mode, MODE};
    use pgrx::prelude::*;
    use pgrx::spi::Spi;

    /// Called by the `starknet_blocks` insert trigger: in sync mode, applies the block now if
    /// every earlier block is applied; otherwise it stays pending.
    #[pg_extern]
    fn block_inserted(block_number: AnyNumeric) {
        if MODE.get() == Mode::Sync {
            let number = block_number.to_string();
            Spi::connect_mut(|client| {
                apply_block(client, &number);
            });
        }
    }

    /// Called by the `events` insert trigger with the already-applied blocks that got new events.
    #[pg_extern]
    fn events_inserted(block_numbers: Option<Vec<AnyNumeric>>) {
        if MODE.get() == Mode::Sync {
            Spi::connect_mut(|client| {
                for number in block_numbers.unwrap_or_default() {
                    apply_late_events(client, &number.to_string());
                }
            });
        }
    }
}

/// Applies pending blocks now, oldest first, at most `max_blocks` of them (all when NULL).
/// Returns the number of blocks applied.
#[pg_extern]
fn evp_catchup(max_blocks: default!(Option<i32>, "NULL")) -> i64 {
    Spi::connect_mut(|client| catch_up(client, max_blocks.map(i64::from)))
}
