"""Writes the soak's input: a chain of bench/chain.py with random reorgs, as the statements an
indexer sends (soak.sql, one transaction per block or revert), and the canonical chain it ends
in (final.sql). Usage: soak_chain.py OUT_DIR ROUNDS SEED STYLE. Prints the figures.

STYLE spec: the reorg styles of SPEC section 1 (the rows deleted with their events, before or
after them, or without; or marked REVERTED with their events kept); the new fork carries the
same events under new hashes.

STYLE indexer: as the Pitch Lake indexer writes (SPEC 7.1, on its schema): the deployment block
has events and no row; one INSERT per event with nonce COUNT(*) + 1; a StartBlock notice beside
every row; reorgs from the tip down, one transaction a block (REVERTED, then a RevertBlock
notice), events kept, the new fork inserted at the same numbers; and restarts, whose catch-up
inserts the events of several blocks with one row (the first) and a CatchupVault notice per
vault, and the events of the first live block after them (all, or the first half), which its
own transaction then stores again: the plugin's copies (SPEC 7.1), counted once. final.sql gives each canonical event the nonce the soak gave it, so the two runs'
bookkeeping is comparable too."""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import chain as gen  # noqa: E402

SPEC_STYLES = {
    "events deleted first": ["DELETE FROM events WHERE block_number >= {x};",
                             "DELETE FROM starknet_blocks WHERE block_number >= {x};"],
    "events deleted after": ["DELETE FROM starknet_blocks WHERE block_number >= {x};",
                             "DELETE FROM events WHERE block_number >= {x};"],
    "rows deleted, events kept": ["DELETE FROM starknet_blocks WHERE block_number >= {x};"],
    "REVERTED, events kept": ["UPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number >= {x};"],
}


class Spec:
    """SPEC section 1's indexer: a block's events, then its row, in one transaction."""

    def __init__(self, rng):
        self.rng = rng

    def block(self, b):
        return gen.block_sql(b)

    def final(self, b):
        return gen.block_sql(b)

    def revert(self, x, _blocks):
        style = self.rng.choice(sorted(SPEC_STYLES))
        return style, "".join(f"BEGIN;\n{s.format(x=x)}\nCOMMIT;\n" for s in SPEC_STYLES[style])


def driver(kind, block_hash, vault="NULL", start="NULL", end="NULL"):
    return ("INSERT INTO driver_events (sequence_index, type, block_hash, vault_address, start_block_hash, "
            f"end_block_hash, timestamp) VALUES (nextval('driver_events_sequence'), '{kind}', {block_hash}, "
            f"{vault}, {start}, {end}, now());\n")


class Indexer:
    """The Pitch Lake indexer (SPEC 7.1)."""

    def __init__(self, rng):
        self.rng = rng
        self.count = {}  # vault -> rows it has in events, every fork's included
        self.nonces = {}  # (number, hash) -> the nonces its events got
        self.copied = {}  # (number, hash) -> the nonces of the catch-up's copies of its first events

    def events(self, b, explicit=False, first=None):
        """The block's events (its `first` ones only, if given: a copy the RPC page cut)."""
        number, h = b[0], b[1]
        events = b[4][:first]
        if not explicit:
            got = []
            for e in events:
                self.count[e.vault] = self.count.get(e.vault, 0) + 1
                got.append(self.count[e.vault])
            if first is None:
                self.nonces[(number, h)] = got
            else:
                self.copied[(number, h)] = got
        out = []
        # The copies count once, at their lowest nonces: the catch-up's.
        copied = self.copied.get((number, h), [])
        kept = copied + self.nonces.get((number, h), [])[len(copied):]
        for e, nonce in zip(events, kept if explicit else got):
            n = nonce if explicit else f"(SELECT count(*) + 1 FROM events WHERE vault_address = '{e.vault}')"
            out.append("INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, "
                       f"event_keys, event_data, event_nonce) VALUES ('0x1', '{e.vault}', {number}, '{h}', '{e.name}', "
                       f"{gen.array(e.keys)}, {gen.array(e.data)}, {n});\n")
        return "".join(out)

    @staticmethod
    def row(b):
        return (f"INSERT INTO starknet_blocks VALUES ({b[0]}, '{b[1]}', '{b[2]}', {b[3]}, 'MINED');\n"
                + driver("StartBlock", f"'{b[1]}'"))

    def block(self, b, with_row=True):
        return "BEGIN;\n" + self.events(b) + (self.row(b) if with_row else "") + "COMMIT;\n"

    def final(self, b, with_row=True):
        return "BEGIN;\n" + self.events(b, explicit=True) + (self.row(b) if with_row else "") + "COMMIT;\n"

    @staticmethod
    def registry(b):
        """The operator registers the vaults deployed in block b."""
        return "".join(f"INSERT INTO vault_registry (vault_address, deployed_at) VALUES ('{v}', '{b[1]}');\n"
                       for v in sorted({e.vault for e in b[4]}))

    def catch_up(self, blocks, last_indexed, live):
        """A restart (SPEC 7.1): the events of `blocks` and of the first live block (all, or the
        first ones: the RPC page ran out), which its own transaction stores again; the first
        block's row; a CatchupVault per vault."""
        vaults = sorted({e.vault for b in blocks for e in b[4]})
        first = self.rng.choice([None, len(live[4]) // 2])
        sql = "BEGIN;\n" + "".join(self.events(b) for b in blocks) + self.events(live, first=first or len(live[4]))
        sql += self.row(blocks[0])
        sql += "".join(driver("CatchupVault", "NULL", f"'{v}'", f"'{last_indexed}'", f"'{blocks[0][1]}'") for v in vaults)
        return sql + "COMMIT;\n"

    @staticmethod
    def revert(_x, blocks):
        return "REVERTED + RevertBlock", "".join(
            f"BEGIN;\nUPDATE starknet_blocks SET status = 'REVERTED' WHERE block_number = {b[0]} AND block_hash = '{b[1]}';\n"
            + driver("RevertBlock", f"'{b[1]}'") + "COMMIT;\n" for b in reversed(blocks))


def main():
    out, rounds, seed, style = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    writer = {"spec": Spec, "indexer": Indexer}[style](rng)
    indexer = style == "indexer"
    base = gen.chain(vaults=4, lps=8, rounds=rounds, bidders=3, bids_per_bidder=2, seed=seed)
    canon = {}  # number -> the block as now canonical
    rowless = set()  # numbers whose canonical block has no row
    deployment = base[0][0]

    def forked(block, fork):
        number, _, _, ts, events = block
        parent = canon[number - 1][1] if number - 1 in canon else hex((number - 1) * 7919)
        return (number, hex((fork << 64) + number * 7919), parent, ts, events)

    forks, depth_sum, styles, statements, restarts, caught_up = 0, 0, {}, 0, 0, 0
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "soak.sql"), "w") as f:
        i = 0
        while i < len(base):
            block = base[i]
            canon[block[0]] = forked(block, 0)
            restarted_here = False
            if indexer and i == 0:
                # The vaults' deployment block: its events, no row, no notice.
                rowless.add(block[0])
                f.write("BEGIN;\n" + writer.registry(canon[block[0]]) + writer.events(canon[block[0]]) + "COMMIT;\n")
            elif indexer and i >= 5 and i + 4 < len(base) and rng.random() < 0.02:
                # A restart: this block and the next k - 1 come by the catch-up.
                k = rng.randint(2, 4)
                for b in base[i + 1:i + k]:
                    canon[b[0]] = forked(b, 0)
                    rowless.add(b[0])
                live = base[i + k]
                canon[live[0]] = forked(live, 0)
                f.write(writer.catch_up([canon[b[0]] for b in base[i:i + k]], canon[block[0] - 1][1], canon[live[0]]))
                restarts += 1
                caught_up += k
                i += k - 1
                block = base[i]
                restarted_here = True
            else:
                f.write(writer.block(canon[block[0]]))
            statements += 1
            # After a restart the live block follows its catch-up at once (the plugin writes both
            # when Juno delivers it): no reorg between them.
            if i >= 5 and rng.random() < 0.08 and not restarted_here:
                # The indexer never reverts the deployment block: it has no row (nor a notice).
                depth = min(rng.randint(1, 6), i) if indexer else rng.randint(1, 6)
                x = block[0] - depth + 1
                name, sql = writer.revert(x, [canon[b[0]] for b in base[i - depth + 1:i + 1]])
                f.write(sql)
                statements += sql.count("BEGIN;")
                forks += 1
                for b in base[i - depth + 1:i + 1]:
                    canon[b[0]] = forked(b, forks)
                    rowless.discard(b[0])
                    f.write(writer.block(canon[b[0]]))
                    statements += 1
                depth_sum += depth
                styles[name] = styles.get(name, 0) + 1
            i += 1
    with open(os.path.join(out, "final.sql"), "w") as f:
        for n in sorted(canon):
            if not indexer:
                f.write(writer.final(canon[n]))
            elif n == deployment:
                f.write("BEGIN;\n" + writer.registry(canon[n]) + writer.events(canon[n], explicit=True) + "COMMIT;\n")
            else:
                f.write(writer.final(canon[n], n not in rowless))
    restarted = f", {restarts} restarts catching up {caught_up} blocks" if indexer else ""
    print(f"{len(base)} blocks, {forks} reorgs ({depth_sum} blocks reverted and replaced; "
          + ", ".join(f"{n} {s}" for s, n in sorted(styles.items())) + f"){restarted}, {statements} transactions"
          + (f", the deployment block ({deployment}) without a row" if indexer else ""))


main()
