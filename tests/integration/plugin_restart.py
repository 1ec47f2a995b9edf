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
must find once it applies H)."""

import re
import sys

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


def main():
    chain, kind, variant = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(chain) as f:
        txs = transactions(f.readlines())
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
        sys.exit(f"no live block with {kind} after two live blocks ({variant})")
    i, h, d1, before, events = wanted[0]
    copied = events if variant != "prefix" else events[:(len(events) + 1) // 2]
    d1_events = [s for s in txs[i - 1][0] if EVENT.match(s)]
    row = [s for s in txs[i - 1][0] if ROW.match(s)]
    vaults = sorted({EVENT.match(s).group(1) for s in d1_events + copied})
    catchup = [("INSERT INTO driver_events (sequence_index, type, vault_address, start_block_hash, end_block_hash, "
                f"timestamp) VALUES (nextval('driver_events_sequence'), 'CatchupVault', '{v}', '{before[1]}', "
                f"'{d1[1]}', NOW());\n") for v in vaults]
    txs[i - 1] = (d1_events + copied + row + catchup, txs[i - 1][1])
    for statements, between in txs:
        sys.stdout.write("".join(between) + "BEGIN;\n" + "".join(statements) + "COMMIT;\n")
    print(f"block {h[0]}: {len(copied)} of its {len(events)} events stored again", file=sys.stderr)


if __name__ == "__main__":
    main()
