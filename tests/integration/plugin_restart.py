"""Rewrites the event-logger fixture's chain (written as the Pitch Lake plugin writes) into the
plugin's restart shape (SPEC 7.1, "Catch-up when Juno starts"), Juno starting at a block H that
holds an event KIND: the live transaction of block H - 1 becomes the catch-up's (tx B):
the events of H - 1 and H (all of H's, or its first half: the RPC page ran out), one
row, for H - 1, and a CatchupVault notice per vault; then H's own live transaction (tx C)
stores H's events again, with new COUNT(*) + 1 nonces, and H's row. The chain's expected state
is unchanged: the copies count once.

Usage: plugin_restart.py CHAIN KIND whole|prefix|reorged > restart.sql: H is the first such
block the chain keeps; with reorged, the first that a later reorg of the chain reverts (copied
whole). Prints to stderr how many of H's events tx B stored again (the copies the extension
must find once it applies H).

Usage: plugin_restart.py held CHAIN OUT_DIR, for held_indexer.sh: the chain in the restart shape
(AuctionStarted, whole) split at a live block T after its last reorg, whose transaction the
indexer runs while another session holds the extension's lock (a lock timeout), and a later
live block K with events, whose transaction gets one more event that does not decode (a
Deposit whose amount is "0x5g"), inserted as the plugin inserts events. Writes to OUT_DIR:
restart.sql (the whole chain), before_t.sql, t.sql, after_t.sql (K's bad event included),
before_k.sql (the chain's transactions before K, as they are), and prints "T K" (their block
numbers)."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from chain import SELECTOR  # noqa: E402

ROW = re.compile(r"^INSERT INTO starknet_blocks .*VALUES \((\d+), '(0x[0-9a-f]+)'")
EVENT = re.compile(r"^INSERT INTO events .*?'(0x[0-9a-f]+)'::varchar, \d+, '0x[0-9a-f]+'::varchar, '(\w+)', ARRAY\[")


def transactions(lines):
    """The chain as (statements, text outside transactions before it) pairs."""
    out, current, between = [], None, []
    for line in lines:
        if line == "BEGIN;\n":
            current = []
        elif line == "COMMIT;\n":
            out.append((current, between))
            current, between = None, []
        elif current is None:
            between.append(line)
        else:
            current.append(line)
    return out


def live_block(statements):
    """(number, hash) of a live block's transaction (a row, no reorg), else None."""
    rows = [ROW.match(s) for s in statements if ROW.match(s)]
    if len(rows) != 1 or any(s.startswith("UPDATE") for s in statements):
        return None
    return int(rows[0].group(1)), rows[0].group(2)


def reorged(txs, i, block_hash):
    """Whether a transaction after the i-th reverts the block with this hash."""
    return any(s.startswith("UPDATE starknet_blocks") and f"'{block_hash}'" in s for t, _ in txs[i + 1:] for s in t)


def restart(txs, kind, variant):
    """The chain's transactions in the restart shape, and how many of H's events are copies."""
    candidates = []
    for i in range(2, len(txs)):
        h, d1, before = live_block(txs[i][0]), live_block(txs[i - 1][0]), live_block(txs[i - 2][0])
        events = [s for s in txs[i][0] if EVENT.match(s)]
        if (h and d1 and before and d1[0] == h[0] - 1
                and any(EVENT.match(s).group(2) == kind for s in events)):
            candidates.append((i, h, d1, before, events))
    # A block the chain keeps, or with REORGED one that a later reorg reverts.
    wanted = [c for c in candidates if reorged(txs, c[0], c[1][1]) == (variant == "reorged")]
    if not wanted:
        raise SystemExit(f"no live block with {kind} after two live blocks ({variant})")
    i, h, d1, before, events = wanted[0]
    copied = events if variant != "prefix" else events[:(len(events) + 1) // 2]
    d1_events = [s for s in txs[i - 1][0] if EVENT.match(s)]
    row = [s for s in txs[i - 1][0] if ROW.match(s)]
    vaults = sorted({EVENT.match(s).group(1) for s in d1_events + copied})
    catchup = [("INSERT INTO driver_events (sequence_index, type, vault_address, start_block_hash, end_block_hash, "
                f"timestamp) VALUES (nextval('driver_events_sequence'), 'CatchupVault', '{v}', '{before[1]}', "
                f"'{d1[1]}', NOW());\n") for v in vaults]
    txs[i - 1] = (d1_events + copied + row + catchup, txs[i - 1][1])
    return txs, f"block {h[0]}: {len(copied)} of its {len(events)} events stored again"


def text(txs):
    return "".join("".join(between) + "BEGIN;\n" + "".join(statements) + "COMMIT;\n" for statements, between in txs)


def held(txs, out):
    """held_indexer.sh's files (see the usage above); returns T and K."""
    last_reorg = max(i for i, (t, _) in enumerate(txs) if any(s.startswith("UPDATE starknet_blocks") for s in t))
    live = [i for i in range(last_reorg + 1, len(txs)) if live_block(txs[i][0])]
    t = live[2]
    k = next(i for i in live if i > t + 3 and any(EVENT.match(s) for s in txs[i][0]))
    statements, between = txs[k]
    first = next(s for s in statements if EVENT.match(s))
    vault = EVENT.match(first).group(1)
    number, block_hash = live_block(statements)
    bad = ("INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, event_keys, "
           f"event_data, event_nonce) VALUES ('0xbad', '{vault}', {number}, '{block_hash}', 'Deposit', "
           f"ARRAY['{SELECTOR['Deposit']}','0xbad'], ARRAY['0x5g','0x0','0x5','0x0','0x5','0x0'], "
           f"(SELECT COUNT(*) + 1 FROM events WHERE vault_address = '{vault}'));\n")
    at = statements.index(first)
    files = {"restart.sql": txs, "before_k.sql": txs[:k], "before_t.sql": txs[:t], "t.sql": txs[t:t + 1],
             "after_t.sql": txs[t + 1:k] + [(statements[:at] + [bad] + statements[at:], between)] + txs[k + 1:]}
    os.makedirs(out, exist_ok=True)
    for name, part in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text(part))
    return live_block(txs[t][0])[0], number


def main():
    with open(sys.argv[2] if sys.argv[1] == "held" else sys.argv[1]) as f:
        txs = transactions(f.readlines())
    if sys.argv[1] == "held":
        txs, _ = restart(txs, "AuctionStarted", "whole")
        print(*held(txs, sys.argv[3]))
    else:
        txs, copies = restart(txs, sys.argv[2], sys.argv[3])
        sys.stdout.write(text(txs))
        print(copies, file=sys.stderr)


if __name__ == "__main__":
    main()
