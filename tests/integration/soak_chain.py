"""Writes the soak's input: a chain of bench/chain.py with random reorgs, as the statements an
indexer sends (soak.sql, one transaction per block or revert), and the canonical chain it ends
in (final.sql). Reorg styles of SPEC section 1: the rows deleted with their events (before or
after them) or without, or marked REVERTED with their events kept; the new fork carries the
same events under new hashes. Usage: soak_chain.py OUT_DIR ROUNDS SEED. Prints the figures."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import chain as gen  # noqa: E402
from fault_chains import block_sql  # noqa: E402

STYLES = {
    "events deleted first": ["DELETE FROM events WHERE block_number >= {x};",
                             "DELETE FROM starknet_blocks WHERE block_number >= {x};"],
    "events deleted after": ["DELETE FROM starknet_blocks WHERE block_number >= {x};",
                             "DELETE FROM events WHERE block_number >= {x};"],
    "rows deleted, events kept": ["DELETE FROM starknet_blocks WHERE block_number >= {x};"],
    "REVERTED, events kept": ["UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number >= {x};"],
}


def main():
    out, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    base = gen.chain(vaults=4, lps=8, rounds=rounds, bidders=3, bids_per_bidder=2, seed=seed)
    canon = {}  # number -> the block as now canonical

    def forked(block, fork):
        number, _, _, ts, events = block
        parent = canon[number - 1][1] if number - 1 in canon else hex((number - 1) * 7919)
        return (number, hex((fork << 64) + number * 7919), parent, ts, events)

    forks, depth_sum, styles, statements = 0, 0, {}, 0
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "soak.sql"), "w") as f:
        for i, block in enumerate(base):
            canon[block[0]] = forked(block, 0)
            f.write(block_sql(canon[block[0]]))
            statements += 1
            if i >= 5 and rng.random() < 0.08:
                depth = rng.randint(1, 6)
                x = block[0] - depth + 1
                style = rng.choice(sorted(STYLES))
                for s in STYLES[style]:
                    f.write(f"BEGIN;\n{s.format(x=x)}\nCOMMIT;\n")
                    statements += 1
                forks += 1
                for b in base[i - depth + 1:i + 1]:
                    canon[b[0]] = forked(b, forks)
                    f.write(block_sql(canon[b[0]]))
                    statements += 1
                depth_sum += depth
                styles[style] = styles.get(style, 0) + 1
    with open(os.path.join(out, "final.sql"), "w") as f:
        for n in sorted(canon):
            f.write(block_sql(canon[n]))
    print(f"{len(base)} blocks, {forks} reorgs ({depth_sum} blocks reverted and replaced; "
          + ", ".join(f"{n} {s}" for s, n in sorted(styles.items())) + f"), {statements} transactions")


main()
