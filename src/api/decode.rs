//! `evp_decode_event(event_name, keys, data)`: the decoder, exposed to SQL.

use crate::decode::{decode, Kind, Layout};
use crate::error::raise;
use pgrx::prelude::*;
use pgrx::JsonB;

/// Decodes one event to jsonb: `{"event": name, field: value, …}` with amounts as decimal
/// strings and addresses normalised. Round events also carry `"layout"`, told from the key
/// count (a forwarded event has the round id as an extra last key). Bad input raises
/// `invalid_parameter_value` with the decoder's message.
#[pg_extern(immutable, parallel_safe)]
fn evp_decode_event(
    event_name: &str,
    keys: Vec<Option<String>>,
    data: Vec<Option<String>>,
) -> JsonB {
    let kind = Kind::named(event_name);
    let layout = kind.map_or(Layout::Direct, |k| k.infer_layout(&keys));
    let decoded = decode(event_name, &keys, &data, layout).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            e.to_string(),
        )
    });
    let mut json = serde_json::to_value(&decoded)
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, e.to_string()));
    if let (Some(true), Some(obj)) = (kind.map(Kind::is_round_event), json.as_object_mut()) {
        obj.insert(
            "layout".into(),
            serde_json::to_value(layout).unwrap_or_default(),
        );
    }
    JsonB(json)
}

/// The event kinds the extension knows: name, selector (`keys[0]`), and whether a round emits
/// it (and so it has two layouts). For tests and tools that write events.
#[pg_extern(immutable, parallel_safe)]
fn evp_event_kinds() -> TableIterator<
    'static,
    (
        name!(name, &'static str),
        name!(selector, &'static str),
        name!(round_event, bool),
    ),
> {
    TableIterator::new(
        Kind::ALL
            .iter()
            .map(|k| (k.name(), k.selector(), k.is_round_event())),
    )
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::JsonB;

    #[pg_test]
    fn decodes_a_forwarded_bid_from_sql() {
        let got = Spi::get_one::<JsonB>(
            "SELECT evp_decode_event('BidPlaced',
                ARRAY['0x284319dd93fe6054ee43527bfdc6c222e6b0cafdcbd3ef60c9190c70bb1d638', '0xA', '0x2'],
                ARRAY['0x1', '0x3', '0x1', '0x5', '0x0', '0x4', '0x0BEEF'])",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            got.0,
            serde_json::json!({"event": "BidPlaced", "layout": "forwarded", "account": "0xa", "bid_id": "0x1",
                "amount": "340282366920938463463374607431768211459", "price": "5", "bid_tree_nonce_now": "4",
                "tree_nonce": "3", "round_id": "2", "round_address": "0xbeef"})
        );
    }

    #[pg_test(
        error = "event_processor: Deposit: data[0] (amount.low): \"0x5g\" has a non-hex character 'g'"
    )]
    fn reports_bad_felts_as_errors() {
        Spi::run(
            "SELECT evp_decode_event('Deposit',
                ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', '0x1'],
                ARRAY['0x5g', '0x0', '0x5', '0x0', '0x5', '0x0'])",
        )
        .unwrap();
    }

    #[pg_test(error = "event_processor: Deposit: keys[1] (account): NULL is not a felt")]
    fn rejects_null_felts() {
        Spi::run(
            "SELECT evp_decode_event('Deposit',
                ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2', NULL],
                ARRAY[]::text[])",
        )
        .unwrap();
    }
}
