"""Benchmarks: what applying Pitch Lake events inside the database costs, and what it saves.

Run by scripts/bench.sh, which builds a release library, starts a throwaway cluster with it
preloaded and calls this with the chain's size. Prints a table and writes BENCHMARKS.md.
"""

import argparse
import os
import platform
import statistics
import subprocess
import threading
import time

import psycopg

import chain as gen
import workloads
from external import External

EVENT_SQL = ("INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, event_keys, "
             "event_data, transaction_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, '0x1')")
BLOCK_SQL = "INSERT INTO starknet_blocks VALUES (%s, %s, %s, %s, 'MINED')"


def connect(db, **kw):
    return psycopg.connect(dbname=db, autocommit=True, **kw)


def fresh_db(admin, db, extension=True):
    admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {db}")
    with connect(db) as c:
        if extension:
            c.execute("CREATE EXTENSION event_processor")
        else:
            c.execute(open(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures",
                                        "input_tables_with_from_address.sql")).read())


def insert_block(conn, block):
    """One block the way the indexer writes it: its events, then its row, in one transaction."""
    number, h, parent, ts, events = block
    with conn.transaction():
        with conn.cursor() as cur:
            if events:
                cur.executemany(EVENT_SQL, [(e.nonce, number, h, e.vault, e.name, e.keys, e.data) for e in events])
            cur.execute(BLOCK_SQL, (number, h, parent, ts))


def insert_chain(db, blocks, mode):
    latencies = []
    with connect(db, options=f"-c evp.mode={mode}") as c:
        start = time.perf_counter()
        for b in blocks:
            t0 = time.perf_counter()
            insert_block(c, b)
            latencies.append(time.perf_counter() - t0)
        return time.perf_counter() - start, latencies


def median_run(run, n):
    """Runs `run` (returning (seconds, detail)) n times; the run with the median time."""
    results = sorted((run() for _ in range(n)), key=lambda r: r[0])
    return results[len(results) // 2]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


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


def digest(db):
    with connect(db) as c:
        return c.execute('SELECT md5(string_agg(v::text, \'|\' ORDER BY v::text)) FROM (SELECT address, unlocked_balance, '
                         'locked_balance, stashed_balance FROM "Liquidity_Providers" UNION ALL SELECT address, unlocked_balance, '
                         'locked_balance, stashed_balance FROM "VaultStates") v').fetchone()[0]


def scale(admin, lps):
    """One vault with `lps` LPs: the cost of the LP-wide transitions, each in a block of its own,
    and the backend's peak memory (see `MemoryPeak`)."""
    fresh_db(admin, "bench_scale")
    blocks = gen.scale_chain(lps)
    timings = {}
    with connect("bench_scale", options="-c evp.mode=sync " + os.environ.get("EVP_BENCH_OPTS", "")) as c:
        with MemoryPeak(c.execute("SELECT pg_backend_pid()").fetchone()[0]) as peak:
            for b in blocks:
                t0 = time.perf_counter()
                insert_block(c, b)
                elapsed = time.perf_counter() - t0
                name = b[4][0].name if len(b[4]) == 1 else "deposits"
                timings[name] = elapsed
    return timings, peak


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


def catchup_history(admin, n):
    """A history of n blocks bulk-inserted, then applied by one evp_catchup(): (bulk s, catch-up s)."""
    fresh_db(admin, "bench_history")
    with connect("bench_history") as c:
        bulk = workloads.bulk_insert(c, workloads.history(n))
        t0 = time.perf_counter()
        c.execute("SELECT evp_catchup()")
        return bulk, time.perf_counter() - t0


def per_block(admin, a):
    """The workloads of issue 13: what a block costs when it carries little or nothing."""
    rows, targets = [], []
    empty = workloads.empty_blocks(a.empty)

    def spec_run(mode, extension=True):
        fresh_db(admin, "bench_empty", extension)
        return insert_chain("bench_empty", empty, mode)
    bare, _ = median_run(lambda: spec_run("off", extension=False), a.runs)
    floor, _ = median_run(lambda: spec_run("off"), a.runs)
    sync, lat = median_run(lambda: spec_run("sync"), a.runs)
    rows.append((f"empty blocks: {a.empty:,}, one transaction each, sync", f"{sync:.2f} s", f"{sync / floor:.2f}× floor",
                 f"floor {floor:.2f} s (without the extension {bare:.2f} s); {(sync - floor) / a.empty * 1e6:.0f} µs "
                 f"added per block; p99 {pct(lat, 99) * 1000:.2f} ms"))
    targets.append(("empty blocks ≤ 1.5× the floor", f"{sync / floor:.2f}×", sync / floor <= 1.5))

    def indexer_run(mode):
        admin.execute("DROP DATABASE IF EXISTS bench_indexer WITH (FORCE)")
        admin.execute("CREATE DATABASE bench_indexer")
        with connect("bench_indexer") as c:
            workloads.create_indexer_tables(c)
            c.execute("CREATE EXTENSION event_processor")
        with connect("bench_indexer", options=f"-c evp.mode={mode}") as c:
            t0 = time.perf_counter()
            for b in empty:
                workloads.insert_indexer_block(c, b)
            return time.perf_counter() - t0, None
    ifloor, _ = median_run(lambda: indexer_run("off"), a.runs)
    isync, _ = median_run(lambda: indexer_run("sync"), a.runs)
    rows.append((f"empty blocks as the Pitch Lake indexer writes them (row + StartBlock), {a.empty:,}", f"{isync:.2f} s",
                 f"{isync / ifloor:.2f}× floor", f"floor {ifloor:.2f} s; {(isync - ifloor) / a.empty * 1e6:.0f} µs added per block"))
    targets.append(("the indexer's empty blocks ≤ 1.5× the floor", f"{isync / ifloor:.2f}×", isync / ifloor <= 1.5))

    small = workloads.small_chain()
    n_small = sum(len(b[4]) for b in small)

    def small_run(mode):
        fresh_db(admin, "bench_small")
        return insert_chain("bench_small", small, mode)
    sfloor, _ = median_run(lambda: small_run("off"), a.runs)
    ssync, _ = median_run(lambda: small_run("sync"), a.runs)
    rows.append((f"small blocks: {len(small)} blocks, {n_small / len(small):.1f} events a block, sync", f"{ssync:.2f} s",
                 f"{ssync / sfloor:.2f}× floor", f"floor {sfloor:.2f} s"))
    targets.append(("small blocks ≤ 2.5× the floor", f"{ssync / sfloor:.2f}×", ssync / sfloor <= 2.5))

    if a.history:
        small_bulk, small_catchup = catchup_history(admin, a.history // 10)
        bulk, catchup = catchup_history(admin, a.history)
        growth = (catchup / a.history) / (small_catchup / (a.history // 10))
        rows.append((f"history: evp_catchup() of {a.history:,} blocks (1 % with a Deposit) after a bulk insert",
                     f"{catchup:.2f} s", f"{catchup / bulk:.2f}× bulk insert",
                     f"bulk insert {bulk:.2f} s; {a.history / catchup:,.0f} blocks/s; per block {growth:.2f}× that of "
                     f"{a.history // 10:,} blocks ({small_catchup:.2f} s)"))
        targets.append(("evp_catchup() of a long history ≤ 5× the bulk insert", f"{catchup / bulk:.2f}×", catchup / bulk <= 5))
        targets.append(("evp_catchup() linear: per block at 10× the blocks ≤ 1.25×", f"{growth:.2f}×", growth <= 1.25))
    if a.worker_history:
        fresh_db(admin, "bench_worker", extension=False)
        with connect("bench_worker") as c:
            bulk = workloads.bulk_insert(c, workloads.history(a.worker_history))
        wait_worker_connected(admin, "bench_worker")
        with connect("bench_worker") as c:
            c.execute("CREATE EXTENSION event_processor")
            t0 = time.perf_counter()
        wait_applied("bench_worker")
        worker = time.perf_counter() - t0
        rows.append((f"history: the worker applies {a.worker_history:,} blocks after a bulk insert", f"{worker:.2f} s",
                     f"{worker / bulk:.2f}× bulk insert", f"bulk insert {bulk:.2f} s; {a.worker_history / worker:,.0f} blocks/s"))
        targets.append(("the worker on a long history ≤ 5× the bulk insert", f"{worker / bulk:.2f}×", worker / bulk <= 5))
    return rows, targets


def chain_workloads(admin, a, blocks):
    """The bench chain: floor, sync, the worker, reverts, the external baseline, the LP-wide
    transitions. Returns the rows, the targets and the peak memory of the largest scale run."""
    n_events = sum(len(b[4]) for b in blocks)
    rows = []


    def floor_run():
        fresh_db(admin, "bench_floor")
        return insert_chain("bench_floor", blocks, "off")
    floor, _ = median_run(floor_run, a.runs)
    rows.append(("floor: insert with evp.mode = off", f"{floor:.2f} s", "1.00× floor", f"{n_events / floor:,.0f} events/s"))

    def sync_run():
        fresh_db(admin, "bench_sync")
        return insert_chain("bench_sync", blocks, "sync")
    sync, lat = median_run(sync_run, a.runs)
    rows.append(("sync: insert, applied in the same transaction", f"{sync:.2f} s", f"{sync / floor:.2f}× floor",
                 f"per block p50 {pct(lat, 50) * 1000:.2f} ms, p99 {pct(lat, 99) * 1000:.2f} ms"))

    # The worker serves bench_worker (evp.database): history loaded before CREATE EXTENSION,
    # which wakes it when it commits.
    def worker_run():
        fresh_db(admin, "bench_worker", extension=False)
        insert_chain("bench_worker", blocks, "off")
        wait_worker_connected(admin, "bench_worker")
        with connect("bench_worker") as c:
            c.execute("CREATE EXTENSION event_processor")
            t0 = time.perf_counter()
        wait_applied("bench_worker")
        return time.perf_counter() - t0, None
    worker, _ = median_run(worker_run, a.runs)
    rows.append(("worker: catch-up of the preloaded chain", f"{worker:.2f} s", "",
                 f"{n_events / worker:,.0f} events/s"))
    assert digest("bench_worker") == digest("bench_sync"), "worker and sync states differ"

    k = min(a.revert, len(blocks) // 2)
    tail = blocks[-k:]
    with connect("bench_sync", options="-c evp.mode=sync") as c:
        t0 = time.perf_counter()
        for b in reversed(tail):
            with c.transaction():
                c.execute("DELETE FROM starknet_blocks WHERE block_number = %s", (b[0],))
        revert = time.perf_counter() - t0
        t0 = time.perf_counter()
        for b in tail:
            with c.transaction():
                c.execute(BLOCK_SQL, (b[0], b[1], b[2], b[3]))
        reapply = time.perf_counter() - t0
    rows.append((f"revert: last {k} blocks, one transaction each", f"{revert:.2f} s", f"{revert / reapply:.2f}× apply",
                 f"apply of the same {k} blocks: {reapply:.2f} s"))
    assert digest("bench_sync") == digest("bench_worker"), "revert and re-apply changed the state"

    fresh_db(admin, "bench_ext")
    ext_insert, _ = insert_chain("bench_ext", blocks, "off")
    with psycopg.connect(dbname="bench_ext", host="127.0.0.1", autocommit=True) as c:
        ext = External(c)
        t0 = time.perf_counter()
        for b in blocks:
            ext.block(b[0], b[3])
        ext_apply = time.perf_counter() - t0
    ext_total = ext_insert + ext_apply
    rows.append(("external: client over TCP, one statement per change", f"{ext_total:.2f} s",
                 f"{ext_total / sync:.2f}× sync",
                 f"insert {ext_insert:.2f} s + apply {ext_apply:.2f} s, {ext.statements:,} statements"))
    assert digest("bench_ext") == digest("bench_sync"), "external baseline and sync states differ"

    scale_rows, peak, largest_end, largest = [], None, None, []
    for lps in [int(x) for x in a.scale.split(",") if x]:
        t, peak = scale(admin, lps)
        largest_end = (lps, t["AuctionEnded"])
        largest = [(lps, t[name]) for name in ("AuctionStarted", "AuctionEnded", "OptionRoundSettled")]
        for name in ("AuctionStarted", "AuctionEnded", "OptionRoundSettled"):
            scale_rows.append((f"scale: {name}, {lps:,} LPs", f"{t[name] * 1000:.1f} ms",
                               f"{t[name] / lps * 1e6:.2f} µs per LP", ""))
    rows += scale_rows

    # The issues' targets, judged on this run's figures.
    per_lp = max(t / lps for lps, t in largest) if largest else None
    targets = [
        ("sync ≤ 2× the floor", f"{sync / floor:.2f}×", sync / floor <= 2),
        ("sync p99 ≤ 15 ms a block", f"{pct(lat, 99) * 1000:.1f} ms", pct(lat, 99) <= 0.015),
        ("≥ 5× faster than the external baseline", f"{ext_total / sync:.2f}×", ext_total / sync >= 5),
        ("worker ≥ 20,000 events/s", f"{n_events / worker:,.0f} events/s", n_events / worker >= 20_000),
        ("revert ≤ 1.5× apply", f"{revert / reapply:.2f}×", revert / reapply <= 1.5),
    ]
    if largest_end and largest_end[0] == 100_000:
        targets.append(("100k-LP auction end ≤ 2 s", f"{largest_end[1]:.2f} s", largest_end[1] <= 2))
    if per_lp is not None:
        targets.append(("LP-wide transitions ≤ 8 µs per LP (largest run, slowest transition)",
                        f"{per_lp * 1e6:.2f} µs", per_lp <= 8e-6))
    if peak is not None:
        targets.append(("peak backend memory of the largest run ≤ 150 MB (its own, RssAnon)",
                        f"{peak.private / 1024:.0f} MB", peak.private / 1024 <= 150))

    return rows, targets, peak


def machine():
    cpu = next((l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next(l.split(":")[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    pg = subprocess.run(["psql", "-XAtc", "SHOW server_version"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} × {cpu}, {mem} RAM, PostgreSQL {pg}, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vaults", type=int, default=4)
    ap.add_argument("--lps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--bidders", type=int, default=10)
    ap.add_argument("--bids", type=int, default=3, help="bids per bidder per round")
    ap.add_argument("--revert", type=int, default=50, help="blocks to revert")
    ap.add_argument("--scale", default="1000,10000,100000", help="LP counts for the scale runs")
    ap.add_argument("--runs", type=int, default=3, help="runs of floor, sync and worker; the median is reported")
    ap.add_argument("--empty", type=int, default=3000, help="empty blocks of the per-block runs")
    ap.add_argument("--history", type=int, default=60000, help="blocks of the evp_catchup() history (0: none)")
    ap.add_argument("--worker-history", type=int, default=30000, help="blocks of the worker's history (0: none)")
    ap.add_argument("--only-per-block", action="store_true", help="the per-block workloads alone")
    ap.add_argument("--out", default="BENCHMARKS.md")
    ap.add_argument("--command", default="scripts/bench.sh")
    a = ap.parse_args()

    blocks = gen.chain(a.vaults, a.lps, a.rounds, a.bidders, a.bids)
    n_events = sum(len(b[4]) for b in blocks)
    print(f"chain: {a.vaults} vaults x {a.lps} LPs x {a.rounds} rounds, {a.bidders} bidders x {a.bids} bids: "
          f"{len(blocks)} blocks, {n_events} events")
    admin = connect("postgres")
    rows, targets, peak = [], [], None
    if not a.only_per_block:
        rows, targets, peak = chain_workloads(admin, a, blocks)
    more_rows, more_targets = per_block(admin, a)
    rows += more_rows
    targets += more_targets

    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:>10}  {r[2]:>18}  {r[3]}", flush=True)
    memory = (f"peak memory of the backend in the largest scale run: its own (RssAnon) {peak.private:,} kB; "
              f"VmHWM, which counts the shared buffers it touched, {peak.hwm:,} kB") if peak else ""
    print(memory)
    for name, value, met in targets:
        print(f"target {name}: {value}, {'met' if met else 'missed'}")
    with open(a.out, "w") as out:
        out.write("# Benchmarks\n\n")
        out.write(f"Produced by `{a.command}` on {time.strftime('%Y-%m-%d')}; machine: {machine()}.\n")
        out.write(f"Release build of the extension; floor, sync and worker are the median of {a.runs} runs, the "
                  "other figures one run each.\n\n")
        out.write(f"Chain: {a.vaults} vaults × {a.lps} LPs × {a.rounds} rounds, {a.bidders} bidders × {a.bids} bids a "
                  f"round: {len(blocks)} blocks, {n_events} events, inserted one transaction per block (events, "
                  f"then the block row) as the indexer does.\n\n")
        out.write("| measurement | time | ratio | detail |\n|---|---|---|---|\n")
        for r in rows:
            out.write(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |\n")
        if memory:
            out.write(f"\nThe {memory}.\n")
        out.write("\n| target | this run | |\n|---|---|---|\n")
        for name, value, met in targets:
            out.write(f"| {name} | {value} | {'met' if met else 'missed'} |\n")
        out.write("\nSee the README (Benchmarks) for what profiling found and what remains.\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
