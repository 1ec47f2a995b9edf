"""The per-block workloads of the benchmarks (issue 13): empty blocks as the SPEC-style and the
Pitch Lake indexer write them, a chain of small blocks, and long histories applied by
evp_catchup() and by the worker after a bulk insert."""

import os
import random
import time

import chain as gen

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
STARTBLOCK_SQL = ("INSERT INTO driver_events (sequence_index, type, block_hash, timestamp) "
                  "VALUES (nextval('driver_events_sequence'), 'StartBlock', %s, now())")


def empty_blocks(n, first=1000):
    return [(b, hex(b * 7919), hex((b - 1) * 7919), 1700000000 + 12 * b, []) for b in range(first, first + n)]


def small_chain():
    """About 388 blocks of about 8 events: the size of a fixture chain of the contracts' model."""
    return gen.chain(vaults=3, lps=5, rounds=48, bidders=3, bids_per_bidder=2)


def history(n, every=100, first=1000):
    """A long history: one vault deployed in its first block, a Deposit every `every` blocks
    (1 %), every other block empty."""
    v = gen.Vault(0, 1, random.Random(1))
    lp, balance, blocks = v.lps[0], 0, []
    for b in range(first, first + n):
        events = []
        if b == first:
            events = gen.vault_life(v, 0, 0, 0, v.rng)[0]
        elif (b - first) % every == 0:
            balance += 10**18
            events = [v.event("Deposit", [lp], gen.u256(10**18) + gen.u256(balance) + gen.u256(balance))]
        blocks.append((b, hex(b * 7919), hex((b - 1) * 7919), 1700000000 + 12 * b, events))
    return blocks


def create_indexer_tables(conn):
    """The Pitch Lake indexer's schema (SPEC 7.1), before CREATE EXTENSION."""
    conn.execute(open(os.path.join(FIXTURES, "event-logger", "setup.sql")).read())


def insert_indexer_block(conn, block):
    """A block as the Pitch Lake indexer writes it: its row, then its StartBlock notice."""
    number, h, parent, ts, events = block
    assert not events, "the indexer's shape is measured on empty blocks"
    with conn.transaction():
        conn.execute("INSERT INTO starknet_blocks VALUES (%s, %s, %s, %s, 'MINED')", (number, h, parent, ts))
        conn.execute(STARTBLOCK_SQL, (h,))


def bulk_insert(conn, blocks):
    """The whole history in one transaction by COPY (evp.mode = off: nothing applied). Seconds."""
    t0 = time.perf_counter()
    with conn.transaction():
        conn.execute("SET LOCAL evp.mode = off")
        with conn.cursor().copy("COPY starknet_blocks FROM STDIN") as cp:
            for number, h, parent, ts, _ in blocks:
                cp.write_row((number, h, parent, ts, "MINED"))
        with conn.cursor().copy("COPY events (event_nonce, block_number, block_hash, vault_address, event_name, "
                                "event_keys, event_data, transaction_hash) FROM STDIN") as cp:
            for number, h, _, _, events in blocks:
                for e in events:
                    cp.write_row((e.nonce, number, h, e.vault, e.name, e.keys, e.data, "0x1"))
    return time.perf_counter() - t0
