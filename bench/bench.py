"""Benchmarks: what applying Pitch Lake events inside the database costs, and what it saves.

Every figure is measured against a floor: the same load into the same tables with the
extension not installed (see `fresh_db`). Run by scripts/bench.sh, which builds a release
library and starts a throwaway cluster with it preloaded. Prints a row per figure and the
targets, met or missed, and writes BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import threading
import time

import psycopg

import chain as gen
import outputs
import workloads as wl
from external import External

# What --only can name, in the order they run.
SECTIONS = {
    "dense": "the dense fixture's chain: sync, and evp_catchup() after a load with evp.mode = off",
    "feed": "the change feed's cost: the dense fixture's chain, sync, with evp.feed on and off",
    "outputs": "the outputs alone: the rows sync writes for the dense fixture, small blocks and the bench chain, "
               "written with no logic",
    "chain": "the bench chain: sync, revert vs apply",
    "external": "the external baseline on the bench chain (runs chain too: it is compared with its floor and sync)",
    "worker": "the worker: on the bench chain and on a long history",
    "scale": "LP-wide transitions of one vault, and the backend's peak memory",
    "empty": "empty blocks, SPEC style and as the Pitch Lake indexer writes them",
    "small": "a chain of small blocks",
    "history": "evp_catchup() of a long history loaded in each order, and of a tenth of it",
}

# The targets, in the order reported: key, workload, target. Figures are judged at the sizes
# named here; a run at other sizes says so beside its figure.
TARGETS = [
    ("dense sync", "dense fixture, sync", "≤ 2× the floor"),
    ("dense catchup", "dense fixture, evp_catchup() after a load with evp.mode = off",
     "≥ 8,000 events/s"),
    ("feed", "dense fixture, sync: with the change feed vs without", "≤ 1.25×"),
    ("chain sync", "bench chain, sync", "≤ 1.75× the floor"),
    ("chain p99", "bench chain, sync: p99 per block", "≤ 10 ms"),
    ("empty spec", "3,000 empty blocks, SPEC style", "≤ 1.25× the floor"),
    ("empty indexer", "3,000 empty blocks, the Pitch Lake indexer's (row + StartBlock)",
     "≤ 1.25× the floor"),
    *[(f"history {o}", f"evp_catchup() of a 60,000-block history, {o}", "≤ 1.5× its bulk insert")
      for o in wl.HISTORY_ORDERS],
    *[(f"linear {o}", f"evp_catchup() per block, {o}: 60,000 blocks vs 6,000", "≤ 1.2×") for o in wl.HISTORY_ORDERS],
    ("worker chain", "worker on the bench chain", "≥ 25,000 events/s"),
    ("lp wide", "LP-wide transitions, 100k LPs (the slowest of the three)", "≤ 6 µs per LP"),
    ("memory", "peak backend memory, 100k LPs (its own, RssAnon)", "≤ 150 MB"),
    ("revert", "revert of the bench chain's last blocks", "≤ 1.5× their apply"),
    ("external", "external baseline (a client, one statement per change)", "≥ 5× sync's time"),
    ("worker history", "worker on a 30,000-block history", "≤ 5× its bulk insert"),
    ("small", "small blocks, sync", "≤ 2.5× the floor"),
]
LP_WIDE = ("AuctionStarted", "AuctionEnded", "OptionRoundSettled")
# The bench chain the targets are set for (--vaults, --lps, --rounds, --bidders, --bids).
CHAIN = {"vaults": 4, "lps": 300, "rounds": 4, "bidders": 10, "bids": 3}


def connect(db, mode=None, feed=True):
    """An autocommit session; `mode` sets evp.mode (and EVP_BENCH_OPTS, for experiments, is added);
    `feed` False turns the change feed off."""
    options = f"-c evp.mode={mode} {os.environ.get('EVP_BENCH_OPTS', '')}" if mode else ""
    options += "" if feed else " -c evp.feed=off"
    return psycopg.connect(dbname=db, autocommit=True, options=options)


def input_tables(conn):
    """The input tables' columns, indexes and triggers, except triggers of the extension's."""
    return conn.execute("""
        SELECT 'column', attrelid::regclass::text, attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
          FROM pg_attribute WHERE attrelid IN ('events'::regclass, 'starknet_blocks'::regclass) AND attnum > 0
           AND NOT attisdropped
        UNION ALL
        SELECT 'index', tablename, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename IN ('events', 'starknet_blocks')
        UNION ALL
        SELECT 'trigger', tgrelid::regclass::text, tgname FROM pg_trigger t
         WHERE tgrelid IN ('events'::regclass, 'starknet_blocks'::regclass) AND NOT tgisinternal
           AND NOT EXISTS (SELECT FROM pg_depend WHERE classid = 'pg_proc'::regclass AND objid = t.tgfoid AND deptype = 'e')
        ORDER BY 1, 2, 3""").fetchall()


_bare_templates = {}


def bare_template(admin, schema):
    """A template database holding the input tables with no extension: made by CREATE EXTENSION
    (or the indexer's `schema`, then CREATE EXTENSION, which adds what it needs) and kept by
    DROP EXTENSION, which leaves them (they never belong to it). So a floor loads into the very
    tables the extension's runs load into, indexes included, and nothing else. Made once: the
    worker serves one database name, which must not see an extension come and go."""
    if schema not in _bare_templates:
        name = f"bench_bare_{len(_bare_templates)}"
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
        with connect(name) as c:
            if schema:
                c.execute(open(schema).read())
            c.execute("CREATE EXTENSION event_processor")
            installed = input_tables(c)
            c.execute("DROP EXTENSION event_processor")
            assert input_tables(c) == installed, "DROP EXTENSION changed the input tables"
            assert not c.execute("SELECT FROM pg_namespace WHERE nspname = 'evp'").fetchall(), "evp outlived DROP EXTENSION"
        _bare_templates[schema] = name
    return _bare_templates[schema]


def fresh_db(admin, db, extension=True, schema=None):
    """An empty database with the input tables (the indexer's `schema`, a file, or those CREATE
    EXTENSION creates), with the extension or with no extension installed. The library is
    preloaded in the cluster all the same: it defines settings and the worker (which serves
    evp.database alone), and runs nothing in a database without the extension."""
    admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    if not extension:
        admin.execute(f"CREATE DATABASE {db} TEMPLATE {bare_template(admin, schema)}")
        return
    admin.execute(f"CREATE DATABASE {db}")
    with connect(db) as c:
        if schema:
            c.execute(open(schema).read())
        c.execute("CREATE EXTENSION event_processor")


def load(conn, transactions):
    """Runs each of `transactions` (see workloads) in a transaction of its own. Returns the total
    seconds and each transaction's."""
    times = []
    start = time.perf_counter()
    with conn.cursor() as cur:
        for statements in transactions:
            t0 = time.perf_counter()
            with conn.transaction():
                for s in statements:
                    if isinstance(s, str):
                        cur.execute(s)  # no parameters: the simple protocol, several statements in one round trip
                    elif s[0].startswith("COPY"):
                        with cur.copy(s[0]) as copy:
                            for row in s[1]:
                                copy.write_row(row)
                    elif len(s[1]) == 1:
                        cur.execute(s[0], s[1][0])
                    else:
                        cur.executemany(s[0], s[1])
            times.append(time.perf_counter() - t0)
    return time.perf_counter() - start, times


def fresh_load(admin, db, transactions, extension=True, mode=None, schema=None, feed=True):
    """`transactions` loaded into a fresh database (see fresh_db): (seconds, per transaction)."""
    fresh_db(admin, db, extension, schema)
    with connect(db, mode, feed) as c:
        return load(c, transactions)


def catchup(db, blocks):
    """Times one evp_catchup(), which must apply `blocks` blocks."""
    with connect(db) as c:
        t0 = time.perf_counter()
        applied = c.execute("SELECT evp_catchup()").fetchone()[0]
        seconds = time.perf_counter() - t0
    assert applied == blocks, f"{db}: evp_catchup() applied {applied} blocks of {blocks}"
    return seconds


def load_and_catchup(admin, db, transactions, blocks):
    """Loads with the extension installed and evp.mode = off, then one evp_catchup():
    (catch-up s, load s)."""
    load_s, _ = fresh_load(admin, db, transactions, mode="off")
    return catchup(db, blocks), load_s


def medians(runs, *workloads):
    """Each workload's median run of `runs` (a run returns (seconds, ...)). Runs alternate between
    the workloads, so that a figure and its floor see the same machine when other load on it
    comes and goes."""
    results = [[] for _ in workloads]
    for _ in range(runs):
        for r, w in zip(results, workloads):
            r.append(w())
    return [sorted(r, key=lambda x: x[0])[len(r) // 2] for r in results]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def ms(seconds):
    return f"{seconds * 1000:.2f} ms"


def other_size(actual, nominal, unit):
    """Said beside a figure measured at another size than its target's."""
    return "" if actual == nominal else f" (at {actual:,} {unit}; the target's: {nominal:,})"


def wait_applied(db, timeout=600):
    # A cheap probe: evp_status() counts the journal, too heavy to poll every few milliseconds.
    # max() on both sides: one index step each, not a scan competing with the worker.
    probe = ("SELECT coalesce((SELECT max(block_number) FROM starknet_blocks WHERE status <> 'REVERTED'), -1) "
             "<= coalesce((SELECT max(block_number) FROM evp.applied_blocks), -1)")
    with connect(db) as c:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if c.execute(probe).fetchone()[0]:
                return
            time.sleep(0.01)
    raise RuntimeError(f"{db}: blocks still pending after {timeout} s")


def wait_worker_connected(admin, db, timeout=30):
    """The worker, restarted when its database was dropped, is connected and waiting (so the
    measurement does not include its restart delay)."""
    probe = ("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'event_processor worker' "
             "AND datname = %s)")
    deadline = time.time() + timeout
    while not admin.execute(probe, (db,)).fetchone()[0]:
        if time.time() > deadline:
            raise RuntimeError(f"the worker did not connect to {db} within {timeout} s")
        time.sleep(0.05)


def worker_catchup(admin, transactions):
    """bench_worker (evp.database) loaded with no extension, then CREATE EXTENSION, which wakes
    the worker when it commits: (the worker's catch-up s, the load s: its floor, CREATE
    EXTENSION s, not counted)."""
    load_s, _ = fresh_load(admin, "bench_worker", transactions, extension=False)
    wait_worker_connected(admin, "bench_worker")
    with connect("bench_worker") as c:
        t0 = time.perf_counter()
        c.execute("CREATE EXTENSION event_processor")
        t1 = time.perf_counter()
    wait_applied("bench_worker")
    return time.perf_counter() - t1, load_s, t1 - t0


def digest(db):
    with connect(db) as c:
        return c.execute('SELECT md5(string_agg(v::text, \'|\' ORDER BY v::text)) FROM (SELECT address, unlocked_balance, '
                         'locked_balance, stashed_balance FROM "Liquidity_Providers" UNION ALL SELECT address, unlocked_balance, '
                         'locked_balance, stashed_balance FROM "VaultStates") v').fetchone()[0]


class MemoryPeak:
    """A backend's peak memory, in kB. VmHWM, the kernel's peak resident set, counts every page
    of shared_buffers the backend touched (1 GB here, shared by all backends), so the backend's
    own memory, RssAnon (its heap: memory contexts, sorts, tuplestores), is sampled every 2 ms."""

    def __init__(self, pid):
        self.status = f"/proc/{pid}/status"
        self.private = 0
        self.hwm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _read(self):
        with open(self.status) as s:
            return {k: int(v.split()[0]) for k, v in (l.split(":", 1) for l in s) if k in ("RssAnon", "VmHWM")}

    def _sample(self):
        while not self._stop.is_set():
            self.private = max(self.private, self._read()["RssAnon"])
            self._stop.wait(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.hwm = self._read()["VmHWM"]


class Bench:
    """The run's settings and what it found: a row per figure, the targets judged, the states
    reached (runs that load the same chain must reach the same state)."""

    def __init__(self, a):
        self.a = a
        self.admin = connect("postgres")
        self.rows, self.results, self.states, self.notes = [], {}, {}, []
        self.blocks = gen.chain(a.vaults, a.lps, a.rounds, a.bidders, a.bids)
        self.events = sum(len(b[4]) for b in self.blocks)
        self.chain_at = "" if all(getattr(a, k) == v for k, v in CHAIN.items()) else " (not the default bench chain)"
        self.chain_times = None  # the bench chain's floor and sync, once measured

    ROW = "{:<80} {:>9}  {:>20}  {}"

    def row(self, measurement, seconds, ratio, detail):
        self.rows.append((measurement, f"{seconds:.3f} s", ratio, detail))
        print(self.ROW.format(*self.rows[-1]), flush=True)

    def judge(self, key, value, met, note=""):
        """A target's figure; `note` says so when the run's size is not the target's."""
        self.results[key] = (value + note, "met" if met else "missed")

    def same_state(self, name, db):
        d = digest(db)
        assert self.states.setdefault(name, d) == d, f"{db}: the state differs from that of the other runs of {name}"

    def sync_vs_floor(self, measurement, db, transactions, schema=None):
        """`transactions` loaded with the extension (evp.mode = sync) and, the floor, into the same
        tables with no extension; a row of the two. Returns (floor s, sync s, sync per block)."""
        (floor, floor_t), (sync, sync_t) = medians(
            self.a.runs,
            lambda: fresh_load(self.admin, f"{db}_floor", transactions, extension=False, schema=schema),
            lambda: fresh_load(self.admin, f"{db}_sync", transactions, mode="sync", schema=schema))
        n = len(transactions)
        self.row(measurement, sync, f"{sync / floor:.2f}× floor",
                 f"floor {floor:.3f} s; {(sync - floor) / n * 1e6:,.0f} µs added per block; per block p50 "
                 f"{ms(pct(sync_t, 50))}, p99 {ms(pct(sync_t, 99))} (floor {ms(pct(floor_t, 50))}, {ms(pct(floor_t, 99))})")
        return floor, sync, sync_t


def dense(b):
    transactions = wl.dense_chain()
    events = json.load(open(os.path.join(wl.FIXTURES, "dense", "meta.json")))["coverage"]["events"]
    n = len(transactions)
    floor, sync, _ = b.sync_vs_floor(f"dense fixture: {n} blocks, {events:,} events, one transaction each, sync",
                                     "bench_dense", transactions)
    b.judge("dense sync", f"{sync / floor:.2f}×", sync / floor <= 2)
    with connect("bench_dense_sync") as c:
        assert c.execute("SELECT count(*) FROM events").fetchone()[0] == events, "dense: meta.json's event count"
    (cu, off), = medians(b.a.runs, lambda: load_and_catchup(b.admin, "bench_dense_catchup", transactions, n))
    b.row("dense fixture: evp_catchup() after the same load with evp.mode = off", cu, f"{cu / floor:.2f}× floor",
          f"{events / cu:,.0f} events/s; the load with evp.mode = off {off:.3f} s ({off / floor:.2f}× the floor)")
    b.judge("dense catchup", f"{events / cu:,.0f} events/s", events / cu >= 8000)
    b.same_state("the dense fixture", "bench_dense_sync")
    b.same_state("the dense fixture", "bench_dense_catchup")


def feed(b):
    transactions = wl.dense_chain()
    n = len(transactions)
    (floor, _), (off, _), (on, _) = medians(
        b.a.runs,
        lambda: fresh_load(b.admin, "bench_feed_floor", transactions, extension=False),
        lambda: fresh_load(b.admin, "bench_feed_off", transactions, mode="sync", feed=False),
        lambda: fresh_load(b.admin, "bench_feed_on", transactions, mode="sync"))
    with connect("bench_feed_on") as c:
        changes = c.execute("SELECT count(*) FROM evp.changes").fetchone()[0]
    b.row(f"dense fixture, sync, with the change feed ({changes:,} changes)", on, f"{on / off:.2f}× without it",
          f"{on / floor:.2f}× the floor; without the feed {off:.3f} s ({off / floor:.2f}× the floor); floor {floor:.3f} s; "
          f"{(on - off) / n * 1e6:,.0f} µs per block, {(on - off) / changes * 1e6:.1f} µs per change")
    b.judge("feed", f"{on / off:.2f}×", on / off <= 1.25)
    b.same_state("the dense fixture", "bench_feed_on")
    b.same_state("the dense fixture", "bench_feed_off")


def outputs_alone(b, name, db, transactions):
    """`transactions` loaded in sync mode once, keeping every block's journal, to learn what each
    block writes (outputs.py); then, against the floor and sync, the same load into a database
    whose extension's triggers are off and whose own trigger writes those rows for each block
    row, all of them and without each of `outputs.PARTS` in turn. Each sync load and each load of
    all the outputs must leave what the first load left (`outputs.WRITTEN`)."""
    fresh_db(b.admin, f"{db}_src")
    with psycopg.connect(dbname=f"{db}_src", autocommit=True,
                         options=f"-c evp.mode=sync -c evp.journal_horizon={2**31 - 1}") as c:
        load(c, transactions)
        payloads = outputs.payloads(c)
        written = c.execute(outputs.WRITTEN).fetchone()
    assert len(payloads) == len(transactions), f"{name}: one block per transaction expected"

    def outputs_load(without=()):
        fresh_db(b.admin, f"{db}_outputs")
        with psycopg.connect(dbname=f"{db}_outputs", autocommit=True, options="-c session_replication_role=replica") as c:
            outputs.prepare(c, payloads, without)
            seconds = load(c, transactions)
            assert without or c.execute(outputs.WRITTEN).fetchone() == written, f"{name}: the outputs alone wrote other rows"
        return seconds

    def sync_load():
        seconds = fresh_load(b.admin, f"{db}_sync", transactions, mode="sync")
        with connect(f"{db}_sync") as c:
            assert c.execute(outputs.WRITTEN).fetchone() == written, f"{name}: sync wrote other rows than before"
        return seconds

    # Parts are differences of medians: more runs than the others, to keep them above the noise.
    (floor, _), (sync, _), (alone, alone_t), *parts = medians(
        max(b.a.runs, 5),
        lambda: fresh_load(b.admin, f"{db}_floor", transactions, extension=False),
        sync_load,
        outputs_load,
        *[lambda part=part: outputs_load((part,)) for part in outputs.PARTS])
    n = len(transactions)
    per_block = lambda seconds: f"{seconds / n * 1e6:,.0f} µs"
    cost = {part: alone - without for part, (without, _) in zip(outputs.PARTS, parts)}
    b.row(f"{name}: its outputs alone, written with no logic", alone, f"{alone / floor:.2f}× floor",
          f"floor {floor:.3f} s; sync {sync:.3f} s ({sync / floor:.2f}×); added per block: the outputs alone "
          f"{per_block(alone - floor)}, sync {per_block(sync - floor)}; the outputs alone per block p99 "
          f"{ms(pct(alone_t, 99))}; of the outputs' per block: "
          + ", ".join(f"{part} {per_block(c)}" for part, c in cost.items())
          + f"; the rest (state rows, ledger, nonces, reading the rows) {per_block(alone - floor - sum(cost.values()))}")


def outputs_section(b):
    outputs_alone(b, "dense fixture", "bench_outputs_dense", wl.dense_chain())
    outputs_alone(b, "small blocks", "bench_outputs_small", wl.block_transactions(wl.small_chain()))
    outputs_alone(b, f"bench chain{b.chain_at}", "bench_outputs_chain", wl.block_transactions(b.blocks))


def bench_chain(b):
    floor, sync, lat = b.sync_vs_floor(f"bench chain: {len(b.blocks)} blocks, {b.events:,} events, one transaction "
                                       f"each, sync", "bench_chain", wl.block_transactions(b.blocks))
    b.chain_times = floor, sync
    b.judge("chain sync", f"{sync / floor:.2f}×", sync / floor <= 1.75, b.chain_at)
    b.judge("chain p99", ms(pct(lat, 99)), pct(lat, 99) <= 0.010, b.chain_at)
    b.same_state("the bench chain", "bench_chain_sync")

    tail = b.blocks[-min(b.a.revert, len(b.blocks) // 2):]
    with connect("bench_chain_sync", "sync") as c:
        revert, _ = load(c, [[("DELETE FROM starknet_blocks WHERE block_number = %s", [(bl[0],)])] for bl in reversed(tail)])
        apply, _ = load(c, [[(wl.BLOCK_SQL, [wl.block_row(bl)])] for bl in tail])
    b.row(f"revert: the bench chain's last {len(tail)} blocks, one transaction each", revert, f"{revert / apply:.2f}× apply",
          f"their apply again: {apply:.3f} s")
    b.judge("revert", f"{revert / apply:.2f}×", revert / apply <= 1.5)
    b.same_state("the bench chain", "bench_chain_sync")


def external(b):
    """The old service's way: the load with no extension (the floor), then a client applying each
    block over TCP. The tables it writes are the extension's, loaded with evp.mode = off."""
    floor, sync = b.chain_times
    fresh_load(b.admin, "bench_ext", wl.block_transactions(b.blocks), mode="off")
    with psycopg.connect(dbname="bench_ext", host="127.0.0.1", autocommit=True) as c:
        ext = External(c)
        t0 = time.perf_counter()
        for bl in b.blocks:
            ext.block(bl[0], bl[3])
        apply = time.perf_counter() - t0
    total = floor + apply
    b.row("external: the floor, then a client over TCP applying one statement per change", total,
          f"{total / floor:.2f}× floor", f"{total / sync:.2f}× sync's time; apply {apply:.3f} s, {ext.statements:,} statements")
    b.judge("external", f"{total / sync:.2f}×", total / sync >= 5)
    b.same_state("the bench chain", "bench_ext")


def worker(b):
    transactions = wl.block_transactions(b.blocks)
    (w, floor, create), = medians(b.a.runs, lambda: worker_catchup(b.admin, transactions))
    b.row("worker: the bench chain loaded with no extension, then CREATE EXTENSION", w,
          f"{w / floor:.2f}× floor", f"{b.events / w:,.0f} events/s; floor (the load) {floor:.3f} s; "
          f"CREATE EXTENSION {create:.3f} s, not counted")
    b.judge("worker chain", f"{b.events / w:,.0f} events/s", b.events / w >= 25_000, b.chain_at)
    b.same_state("the bench chain", "bench_worker")
    n = b.a.worker_history
    if n:
        transactions = wl.history_load(wl.history(n), "events first")
        (w, bulk, create), = medians(b.a.runs, lambda: worker_catchup(b.admin, transactions))
        b.row(f"worker: a {n:,}-block history loaded with no extension, then CREATE EXTENSION", w,
              f"{w / bulk:.2f}× bulk insert", f"bulk insert {bulk:.3f} s: {wl.HISTORY_ORDERS['events first']}; "
              f"{n / w:,.0f} blocks/s; CREATE EXTENSION {create:.3f} s, not counted")
        b.judge("worker history", f"{w / bulk:.2f}×", w / bulk <= 5, other_size(n, 30_000, "blocks"))


def scale(b):
    """One vault with N LPs in sync mode: each LP-wide transition is a block of its own."""
    sizes = [int(x) for x in b.a.scale.split(",") if x]
    if not sizes:
        return
    for lps in sizes:
        blocks = gen.scale_chain(lps)
        fresh_db(b.admin, "bench_scale")
        with connect("bench_scale", "sync") as c:
            with MemoryPeak(c.execute("SELECT pg_backend_pid()").fetchone()[0]) as peak:
                _, times = load(c, wl.block_transactions(blocks))
        t = {bl[4][0].name: s for bl, s in zip(blocks, times) if len(bl[4]) == 1}
        for name in LP_WIDE:
            b.row(f"scale: {name}, {lps:,} LPs, sync", t[name], "", f"{t[name] / lps * 1e6:.2f} µs per LP")
    per_lp = max(t[name] / lps for name in LP_WIDE)
    b.judge("lp wide", f"{per_lp * 1e6:.2f} µs", per_lp <= 6e-6, other_size(lps, 100_000, "LPs"))
    b.judge("memory", f"{peak.private / 1024:.0f} MB", peak.private / 1024 <= 150, other_size(lps, 100_000, "LPs"))
    b.notes.append(f"Peak memory of the backend in the {lps:,}-LP scale run: its own (RssAnon) {peak.private:,} kB; "
                   f"VmHWM, which counts the shared buffers it touched, {peak.hwm:,} kB.")


def empty(b):
    n, blocks = b.a.empty, wl.empty_blocks(b.a.empty)
    for key, shape, schema, transactions in (
            ("empty spec", "SPEC style", None, wl.block_transactions(blocks)),
            ("empty indexer", "the indexer's (row + StartBlock)", wl.INDEXER_SCHEMA, wl.indexer_transactions(blocks))):
        floor, sync, _ = b.sync_vs_floor(f"empty blocks, {shape}: {n:,}, one transaction each, sync", "bench_empty",
                                         transactions, schema)
        b.judge(key, f"{sync / floor:.2f}×", sync / floor <= 1.25, other_size(n, 3000, "blocks"))


def small(b):
    blocks = wl.small_chain()
    per_block = sum(len(bl[4]) for bl in blocks) / len(blocks)
    floor, sync, _ = b.sync_vs_floor(f"small blocks: {len(blocks)}, {per_block:.1f} events a block, one transaction each, "
                                     f"sync", "bench_small", wl.block_transactions(blocks))
    b.judge("small", f"{sync / floor:.2f}×", sync / floor <= 2.5)


def history(b):
    """A long history loaded in each order with evp.mode = off, then one evp_catchup(); against
    the same load with no extension, and against a tenth of it (the cost per block must not
    grow with the blocks applied before it)."""
    n, tenth = b.a.history, b.a.history // 10
    if not tenth:
        return
    for order, how in wl.HISTORY_ORDERS.items():
        full, part = wl.history_load(wl.history(n), order), wl.history_load(wl.history(tenth), order)
        (bulk, _), (cu, off), (cu_tenth, _) = medians(
            b.a.runs,
            lambda: fresh_load(b.admin, "bench_history_floor", full, extension=False),
            lambda: load_and_catchup(b.admin, "bench_history", full, n),
            lambda: load_and_catchup(b.admin, "bench_history_tenth", part, tenth))
        growth = (cu / n) / (cu_tenth / tenth)
        b.row(f"history of {n:,} blocks loaded {order} with evp.mode = off, then evp_catchup()", cu,
              f"{cu / bulk:.2f}× bulk insert",
              f"1 % of the blocks with a Deposit; bulk insert with no extension {bulk:.3f} s: {how}; the same load "
              f"with evp.mode = off {off:.3f} s; {n / cu:,.0f} blocks/s; per block {growth:.2f}× that of {tenth:,} "
              f"blocks ({cu_tenth:.3f} s)")
        b.judge(f"history {order}", f"{cu / bulk:.2f}×", cu / bulk <= 1.5, other_size(n, 60_000, "blocks"))
        b.judge(f"linear {order}", f"{growth:.2f}×", growth <= 1.2, other_size(n, 60_000, "blocks"))
        b.same_state(f"the {n:,}-block history", "bench_history")


RUN = {"dense": dense, "feed": feed, "outputs": outputs_section, "chain": bench_chain, "external": external, "worker": worker, "scale": scale, "empty": empty,
       "small": small, "history": history}


def machine(admin):
    cpu = next((l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next(l.split(":")[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    pg = admin.execute("SHOW server_version").fetchone()[0]
    return f"{os.cpu_count()} × {cpu}, {mem} RAM, PostgreSQL {pg}, {platform.system()} {platform.release()}"


def write_markdown(b, sections):
    """BENCHMARKS.md: how the figures were taken, a row per figure, the targets."""
    a = b.a
    with open(a.out, "w") as out:
        out.write("# Benchmarks\n\n")
        out.write(f"Produced by `{a.command}` on {time.strftime('%Y-%m-%d')}; machine: {machine(b.admin)}.\n")
        runs = f"the median of {a.runs} runs, taken in turn" if a.runs > 1 else "one run"
        out.write(f"Release build of the extension. Each figure and its floor are {runs}; the outputs alone of "
                  f"{max(a.runs, 5)}; the scale runs and revert are one run each. Sections run: "
                  f"{', '.join(s for s in SECTIONS if s in sections)}.\n\n")
        out.write("Every floor is the same load into the same tables with the extension not installed (its input "
                  "tables kept by DROP EXTENSION, or the Pitch Lake indexer's schema). A load is timed transaction by "
                  "transaction from one client, the same way for a floor and its figure.\n\n")
        if sections & {"chain", "external", "worker"}:
            out.write(f"Bench chain: {a.vaults} vaults × {a.lps} LPs × {a.rounds} rounds, {a.bidders} bidders × {a.bids} "
                      f"bids a round: {len(b.blocks)} blocks, {b.events} events, one transaction per block (events, then "
                      "the block row) as the indexer writes.\n\n")
        out.write("| measurement | time | ratio | detail |\n|---|---|---|---|\n")
        for r in b.rows:
            out.write(f"| {' | '.join(r)} |\n")
        for note in b.notes:
            out.write(f"\n{note}\n")
        out.write("\n| workload | target | this run | |\n|---|---|---|---|\n")
        for key, workload, target in TARGETS:
            value, status = b.results.get(key, ("", "not run"))
            out.write(f"| {workload} | {target} | {value} | {status} |\n")
        out.write("\nSee docs/performance.md for what profiling found and what remains.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help="sections to run, comma-separated: " + "; ".join(f"{k}: {v}" for k, v in SECTIONS.items()))
    ap.add_argument("--only-per-block", dest="only", action="store_const", const="empty,small,history,worker",
                    help="the same as --only empty,small,history,worker")
    for name, what in (("vaults", "vaults"), ("lps", "LPs per vault"), ("rounds", "rounds"), ("bidders", "bidders"),
                       ("bids", "bids per bidder per round")):
        ap.add_argument(f"--{name}", type=int, default=CHAIN[name], help=f"bench chain: {what}")
    ap.add_argument("--revert", type=int, default=50, help="blocks to revert (at most half the bench chain)")
    ap.add_argument("--scale", default="1000,10000,100000", help="LP counts of the scale runs")
    ap.add_argument("--runs", type=int, default=3, help="runs of each figure and its floor; the median is reported")
    ap.add_argument("--empty", type=int, default=3000, help="empty blocks")
    ap.add_argument("--history", type=int, default=60000,
                    help="blocks of the evp_catchup() histories, also run at a tenth (0: none)")
    ap.add_argument("--worker-history", type=int, default=30000, help="blocks of the worker's history (0: none)")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--command", default="scripts/bench.sh")
    a = ap.parse_args()
    sections = set(a.only.split(","))
    if sections - SECTIONS.keys():
        ap.error(f"--only: unknown {', '.join(sorted(sections - SECTIONS.keys()))}; known: {', '.join(SECTIONS)}")
    if "external" in sections:
        sections.add("chain")

    b = Bench(a)
    if sections & {"chain", "external", "worker"}:
        print(f"bench chain: {a.vaults} vaults x {a.lps} LPs x {a.rounds} rounds, {a.bidders} bidders x {a.bids} bids: "
              f"{len(b.blocks)} blocks, {b.events} events")
    print(b.ROW.format("measurement", "time", "ratio", "detail"))
    for name in SECTIONS:
        if name in sections:
            RUN[name](b)
    print()
    for note in b.notes:
        print(note)
    for key, workload, target in TARGETS:
        value, status = b.results.get(key, ("", "not run"))
        print(f"{status:<8} {workload + ': ' + target:<90} {value}")
    write_markdown(b, sections)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
