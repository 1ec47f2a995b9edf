"""The benchmarks' workloads as lists of transactions, for `bench.load`: the bench chain and
empty blocks written as the SPEC-style and the Pitch Lake indexers write them, a chain of small
blocks, the dense fixture's chain, and long histories in three load orders.

A transaction is a list of statements; a statement is SQL text (run as it is, in one round
trip) or (sql, rows): a COPY fed the rows, or one execution of the SQL per row."""

import os
import re

import chain as gen
from chain import EVENT_COLUMNS, block_row, event_rows, history  # noqa: F401 (bench.py reads them here)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
INDEXER_SCHEMA = os.path.join(FIXTURES, "event-logger", "setup.sql")
DENSE_CHAIN = os.path.join(FIXTURES, "dense", "chain.sql")

EVENT_SQL = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
BLOCK_SQL = "INSERT INTO starknet_blocks VALUES (%s, %s, %s, %s, %s)"
STARTBLOCK_SQL = ("INSERT INTO driver_events (sequence_index, type, block_hash, timestamp) "
                  "VALUES (nextval('driver_events_sequence'), 'StartBlock', %s, now())")
COPY_EVENTS = f"COPY events ({EVENT_COLUMNS}) FROM STDIN"
COPY_BLOCKS = "COPY starknet_blocks FROM STDIN"


def block_transactions(blocks):
    """One transaction per block, as the SPEC-style indexer writes: its events, then its row."""
    return [([(EVENT_SQL, event_rows(b))] if b[4] else []) + [(BLOCK_SQL, [block_row(b)])] for b in blocks]


def indexer_transactions(blocks):
    """Empty blocks as the Pitch Lake indexer writes them: the row, then its StartBlock notice."""
    assert not any(b[4] for b in blocks), "the indexer's shape is measured on empty blocks"
    return [[(BLOCK_SQL, [block_row(b)]), (STARTBLOCK_SQL, [(b[1],)])] for b in blocks]


def dense_chain():
    """The dense fixture's chain.sql, a transaction per block: each one's text between its
    BEGIN; and COMMIT; (the loader opens and commits the transaction itself)."""
    text = open(DENSE_CHAIN).read()
    transactions = [[body] for body in re.findall(r"^BEGIN;\n(.*?)^COMMIT;$", text, re.S | re.M)]
    assert len(transactions) == text.count("INSERT INTO starknet_blocks"), "chain.sql: one block per transaction expected"
    return transactions


def empty_blocks(n, first=1000):
    return [(b, hex(b * 7919), hex((b - 1) * 7919), 1700000000 + 12 * b, []) for b in range(first, first + n)]


def small_chain():
    """About 388 blocks of about 8 events: the size of a fixture chain of the contracts' model."""
    return gen.chain(vaults=3, lps=5, rounds=48, bidders=3, bids_per_bidder=2)


def _interleaved(blocks, batch):
    """Per block its events (one INSERT), then its row; `batch` blocks a transaction, sent as
    one text so that the load is not a round trip per statement."""
    return [["".join(gen.events_sql([b]) + gen.rows_sql([b]) for b in blocks[i:i + batch])]
            for i in range(0, len(blocks), batch)]


# The orders a history reaches the input tables in, each with what it is.
HISTORY_ORDERS = {
    "events first": "COPY events, then COPY starknet_blocks, as pg_restore loads the indexer's tables",
    "blocks first": "COPY starknet_blocks, then COPY events",
    "interleaved": "per block an INSERT of its events, then one of its row, 1,000 blocks a transaction",
}


def history_load(blocks, order):
    """The transactions that load `blocks` in `order` (a key of HISTORY_ORDERS)."""
    if order == "interleaved":
        return _interleaved(blocks, 1000)
    events = [(COPY_EVENTS, [r for b in blocks for r in event_rows(b)])]
    rows = [(COPY_BLOCKS, [block_row(b) for b in blocks])]
    return [events, rows] if order == "events first" else [rows, events]
