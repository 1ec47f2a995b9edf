"""Synthetic Pitch Lake chains, and how the indexer writes a block, for the benchmarks
(bench.py, workloads.py) and the tests (faults.sh, linear.sh, soak.sh through soak_chain.py).

Each vault lives through `rounds` rounds: every LP deposits, the auction starts, a tenth of
the LPs queue half their liquidity, bidders bid, the auction ends, some buyers mint and take
refunds, the round settles and the next one is deployed. Round events use the forwarded
layout (emitted by the vault). The "now" balances the events carry follow a simple model
that keeps every transition valid (queued <= starting liquidity, payout within what is left).

A block is (number, hash, parent hash, timestamp, events). Run as a program, this writes a
chain as the SQL an indexer sends (`python3 bench/chain.py --help`).
"""

import argparse
import os
import random

# The registry of event kinds (src/decode/kind.rs) as tests/event_kinds.tsv copies it for tools
# outside Rust. Read here, the one module that the benchmarks and the tests' Python both import.
KINDS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "event_kinds.tsv")


def event_kinds(path=KINDS_FILE):
    """{name: (selector, round_event)} of every kind the extension knows."""
    kinds = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, selector, round_event = line.rstrip("\n").split("\t")
                kinds[name] = (selector, round_event == "true")
    return kinds


SELECTOR = {name: selector for name, (selector, _) in event_kinds().items()}


def felt(v):
    return hex(v)


def u256(v):
    return [hex(v % (1 << 128)), hex(v >> 128)]


class Event:
    __slots__ = ("vault", "nonce", "name", "keys", "data")

    def __init__(self, vault, nonce, name, keys, data):
        self.vault, self.nonce, self.name, self.keys, self.data = vault, nonce, name, keys, data


class Vault:
    def __init__(self, index, lps, rng):
        self.address = hex(0xA000000 + index)
        self.lps = [hex(0x1000000 * (index + 1) + i) for i in range(lps)]
        self.nonce = 0
        self.rng = rng

    def event(self, name, keys, data):
        self.nonce += 1
        return Event(self.address, self.nonce, name, [SELECTOR[name]] + keys, data)

    def round_address(self, r):
        return hex((int(self.address, 16) << 16) + r)


def round_deployed(v, r):
    return v.event("OptionRoundDeployed", [], [felt(r), v.round_address(r), felt(1700000000 + r), felt(1700000600 + r),
                                               felt(1700000900 + r)] + u256(0) + [felt(0)] + u256(0))


def forwarded(v, r, name, keys, data):
    return v.event(name, keys + [felt(r)], data + [v.round_address(r)])


def vault_life(v, rounds, bidders, bids_per_bidder, rng):
    """The events of one vault, as a list of groups; each group goes into one block."""
    groups = [[round_deployed(v, 1),
               v.event("ContractDeployed", [], [v.address, "0xde", "0x1", "0xc1a55", "0xa", "0xf0551", "0xe7", "0xc1a55",
                                                "0x9c4", "0x14d", "0x12c", "0x258", "0x384", "0x7", "0x5", "0x5a17"])]]
    balance = {lp: 0 for lp in v.lps}
    buyers = [hex(0xB0000000 + i) for i in range(bidders)]
    for r in range(1, rounds + 1):
        deposits = []
        for lp in v.lps:
            amount = rng.randrange(10**17, 10**19)
            balance[lp] += amount
            deposits.append(v.event("Deposit", [lp], u256(amount) + u256(balance[lp]) + u256(sum(balance.values()))))
        groups += [deposits[i:i + 50] for i in range(0, len(deposits), 50)]
        s_total = sum(balance.values())
        available = 10_000
        groups.append([forwarded(v, r, "AuctionStarted", [], u256(s_total) + u256(available))])
        queued, queue = 0, []
        for lp in v.lps[::10]:
            q = balance[lp] * 5000 // 10000
            queued += q
            queue.append(v.event("WithdrawalQueued", [lp], [felt(5000), felt(r)] + u256(0) + u256(q) + u256(queued)))
        bids, placed, tree = [], [], 0
        for b in buyers:
            for _ in range(bids_per_bidder):
                amount, price = rng.randrange(1, 2000), rng.randrange(1, 50) * 10**9
                bids.append((price, tree, amount, b))
                tree += 1
                placed.append(forwarded(v, r, "BidPlaced", [b], [hex(rng.getrandbits(120))] + u256(amount) + u256(price)
                                        + [felt(tree)]))
        groups += [g for g in (queue, placed[:len(placed) // 2], placed[len(placed) // 2:]) if g]
        # The auction's outcome as the contract computes it: walk by price desc, tree nonce asc.
        sold = min(available, sum(b[2] for b in bids))
        left, clearing_price, clearing_nonce = sold, 0, 0
        for price, nonce, amount, _ in sorted(bids, key=lambda b: (-b[0], b[1])):
            if left == 0:
                break
            if amount >= left:
                clearing_price, clearing_nonce, left = price, nonce, 0
            else:
                left -= amount
        unsold = s_total * (available - sold) // available
        groups.append([forwarded(v, r, "AuctionEnded", [], u256(sold) + u256(clearing_price) + u256(unsold)
                                 + [felt(clearing_nonce)])])
        groups.append([forwarded(v, r, "OptionsMinted", [b], u256(1)) for b in buyers[:2]]
                      + [forwarded(v, r, "UnusedBidsRefunded", [b], u256(1)) for b in buyers[2:4]])
        payout = (s_total - unsold) // (2 * sold) if sold else 0
        groups.append([forwarded(v, r, "OptionRoundSettled", [], u256(1) + u256(payout)), round_deployed(v, r + 1)])
        # Settlement returns liquidity to the LPs: the model starts each round from deposits only,
        # which keeps the queued amounts within what each LP has.
    return groups


def chain(vaults, lps, rounds, bidders, bids_per_bidder, seed=1, first_block=1000):
    """Blocks as (number, hash, parent_hash, timestamp, events); vaults interleave."""
    rng = random.Random(seed)
    lives = [vault_life(Vault(i, lps, rng), rounds, bidders, bids_per_bidder, rng) for i in range(vaults)]
    blocks, number = [], first_block
    for step in range(max(len(l) for l in lives)):
        events = [e for l in lives if step < len(l) for e in l[step]]
        blocks.append((number, hex(number * 7919), hex((number - 1) * 7919), 1700000000 + 12 * number, events))
        number += 1
    return blocks


def scale_chain(lps):
    """One vault with `lps` LPs: deposits in blocks of 1,000, then each LP-wide transition
    (AuctionStarted, AuctionEnded, OptionRoundSettled) in a block of its own."""
    v = Vault(0, lps, random.Random(lps))
    blocks = []

    def add(events):
        n = len(blocks) + 1
        blocks.append((n, hex(n * 7919), hex((n - 1) * 7919), 1700000000 + n, events))

    add([round_deployed(v, 1)])
    total = 0
    deposits = []
    for lp in v.lps:
        total += 10**18
        deposits.append(v.event("Deposit", [lp], u256(10**18) + u256(10**18) + u256(total)))
    for i in range(0, len(deposits), 1000):
        add(deposits[i:i + 1000])
    add([forwarded(v, 1, "AuctionStarted", [], u256(total) + u256(1000))])
    add([forwarded(v, 1, "BidPlaced", ["0xb1"], ["0x1"] + u256(1000) + u256(10**9) + ["0x1"])])
    add([forwarded(v, 1, "AuctionEnded", [], u256(1000) + u256(10**9) + u256(0) + ["0x0"])])
    add([forwarded(v, 1, "OptionRoundSettled", [], u256(1) + u256(10**6))])
    return blocks


def history(n, every=100, first=1000):
    """A long history: one vault deployed in its first block, a Deposit every `every` blocks
    (1 %), every other block empty."""
    v = Vault(0, 1, random.Random(1))
    lp, balance, blocks = v.lps[0], 0, []
    for b in range(first, first + n):
        events = []
        if b == first:
            events = vault_life(v, 0, 0, 0, v.rng)[0]
        elif (b - first) % every == 0:
            balance += 10**18
            events = [v.event("Deposit", [lp], u256(10**18) + u256(balance) + u256(balance))]
        blocks.append((b, hex(b * 7919), hex((b - 1) * 7919), 1700000000 + 12 * b, events))
    return blocks


# A block as the indexer writes it (SPEC 1): its events, then its row. As rows (for COPY and
# parameters) and as SQL text.
EVENT_COLUMNS = ("event_nonce, block_number, block_hash, vault_address, event_name, event_keys, event_data, "
                 "transaction_hash")


def event_rows(block):
    number, h, _, _, events = block
    return [(e.nonce, number, h, e.vault, e.name, e.keys, e.data, "0x1") for e in events]


def block_row(block):
    number, h, parent, ts, _ = block
    return (number, h, parent, ts, "MINED")


def literal(s):
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def array(items):
    """A SQL literal of a text array."""
    return literal("{" + ",".join(items) + "}")


def values(rows):
    return ",\n".join("(" + ", ".join(str(v) if isinstance(v, int) else array(v) if isinstance(v, list) else literal(v)
                                      for v in r) + ")" for r in rows)


def events_sql(blocks):
    """One INSERT of the events of `blocks` (nothing if they have none)."""
    rows = [r for b in blocks for r in event_rows(b)]
    return f"INSERT INTO events ({EVENT_COLUMNS}) VALUES\n{values(rows)};\n" if rows else ""


def rows_sql(blocks):
    """One INSERT of the rows of `blocks`."""
    return f"INSERT INTO starknet_blocks VALUES {values(block_row(b) for b in blocks)};\n"


def block_sql(block):
    """The block's transaction: its events, then its row."""
    return "BEGIN;\n" + events_sql([block]) + rows_sql([block]) + "COMMIT;\n"


# The orders a chain can be written in: each block's transaction, or every statement on its own
# (evp.mode = off loads) with the events of all blocks first, their rows first, or `batch`
# blocks' events then their rows, and so on.
ORDERS = {
    "blocks": lambda blocks, batch: map(block_sql, blocks),
    "events-first": lambda blocks, batch: [events_sql(blocks), rows_sql(blocks)],
    "rows-first": lambda blocks, batch: [rows_sql(blocks), events_sql(blocks)],
    "interleaved": lambda blocks, batch: [events_sql(blocks[i:i + batch]) + rows_sql(blocks[i:i + batch])
                                          for i in range(0, len(blocks), batch)],
}


def main():
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--order", choices=ORDERS, default="blocks", help="how to write it (default: a transaction a block)")
    out.add_argument("--batch", type=int, default=100, help="blocks a step of the interleaved order")
    out.add_argument("--split", metavar="DIR", help="one file a block's transaction in DIR (00000.sql, ...), not stdout")
    ap = argparse.ArgumentParser(description="Writes a synthetic chain as the SQL an indexer sends.")
    kind = ap.add_subparsers(dest="chain", required=True)
    bench = kind.add_parser("bench", parents=[out], help="vaults living through rounds (chain())")
    for name in ("vaults", "lps", "rounds", "bidders", "bids"):
        bench.add_argument(name, type=int)
    kind.add_parser("scale", parents=[out], help="one vault's LP-wide transitions (scale_chain())").add_argument("lps", type=int)
    kind.add_parser("history", parents=[out], help="a long, mostly empty history (history())").add_argument("blocks", type=int)
    a = ap.parse_args()
    blocks = {"bench": lambda: chain(a.vaults, a.lps, a.rounds, a.bidders, a.bids),
              "scale": lambda: scale_chain(a.lps), "history": lambda: history(a.blocks)}[a.chain]()
    if not a.split:
        for text in ORDERS[a.order](blocks, a.batch):
            print(text, end="")
        return
    os.makedirs(a.split, exist_ok=True)
    for i, b in enumerate(blocks):
        with open(os.path.join(a.split, f"{i:05d}.sql"), "w") as f:
            f.write(block_sql(b))


if __name__ == "__main__":
    main()
