"""A consumer of the change feed (SPEC 8), as a reader would write one: it keeps a copy of the
eight output tables, read with its position when it starts and fed by evp_changes() after, and
a checkpoint (its copy and position) on disk, acknowledged to its named consumer once written.

    feed_consumer.py follow DATABASE DIR SEED   read until DIR/stop exists and nothing is left
                                                (again from its checkpoint, if DIR has one)
    feed_consumer.py read DATABASE DIR SEED     the same without a named consumer (it writes
                                                nothing: a reader on a hot standby)
    feed_consumer.py check DATABASE DIR         the copy against the tables, row for row

`follow` connects anew for every batch (of a random size) and, at random points, drops
what it read since its checkpoint and starts again from it, as a reader that disconnects,
crashes or restarts does. `check` prints one line per difference (or position of the feed it never read) and exits 1 if
there is one.
"""

import json
import os
import random
import subprocess
import sys
import time

KEYS = {
    "VaultStates": ["address"],
    "Liquidity_Providers": ["address", "vault_address"],
    "Option_Rounds": ["address"],
    "Queued_Liquidity": ["round_address", "address"],
    "Option_Buyers": ["address", "round_address"],
    "Bids": ["round_address", "bid_id"],
    "Vault_Historic": ["address", "block_number"],
    "Liquidity_Providers_Historic": ["address", "vault_address", "block_number"],
}
NAME = "feed_consumer"


def psql(db, sql):
    """The rows of the statements in `sql`, one session, as lists of fields."""
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db], input=sql,
                         check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def start(named):
    """A new reader's first read: its position (a new named consumer's, or the feed's newest) and
    the tables, in one snapshot."""
    position = f"evp_consumer_create('{NAME}')" if named else "evp_feed_position()"
    return (f"BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT 'position', {position};\n"
            + "".join(f"SELECT '{t}', to_jsonb(t)::text FROM public.\"{t}\" t;\n" for t in KEYS) + "COMMIT;\n")


def key(table, row_text):
    row = json.loads(row_text)
    return json.dumps([row[k] for k in KEYS[table]])


class Copy:
    def __init__(self, path):
        self.path = path
        self.position = 0
        self.tables = {t: {} for t in KEYS}
        self.start = 0  # the position it started from
        self.read = []  # the positions read since, in order

    def load(self):
        with open(self.path) as f:
            saved = json.load(f)
        self.position, self.tables = saved["position"], saved["tables"]
        self.start, self.read = saved["start"], saved["read"]

    def save(self):
        with open(self.path + ".new", "w") as f:
            json.dump({"position": self.position, "tables": self.tables, "start": self.start, "read": self.read}, f)
        os.replace(self.path + ".new", self.path)

    def replay(self, position, table, op, row):
        if op in ("insert", "update"):
            self.tables[table][key(table, row)] = row
        elif op == "delete":
            del self.tables[table][key(table, row)]
        self.position = int(position)
        self.read.append(self.position)


def follow(db, work, seed, named):
    rng = random.Random(seed)
    copy = Copy(os.path.join(work, "feed_copy.json"))
    if os.path.exists(copy.path):
        copy.load()
    else:
        for what, value in psql(db, start(named)):
            if what == "position":
                copy.position = copy.start = int(value)
            else:
                copy.tables[what][key(what, value)] = value
        copy.save()
    batches = restarts = changes = 0
    while True:
        stopping = os.path.exists(os.path.join(work, "stop"))
        rows = psql(db, f"SELECT position, table_name, op, \"row\"::text FROM evp_changes({copy.position}, "
                        f"{rng.choice([1, 7, 50, 1000])})")
        batches += 1
        for position, table, op, row in rows:
            copy.replay(position, table, op, row)
        changes += len(rows)
        if rng.random() < 0.1:
            # Gone before its checkpoint: what it read since is read again.
            copy.load()
            restarts += 1
            continue
        copy.save()
        if named:
            psql(db, f"SELECT evp_consumer_ack('{NAME}', {copy.position})")
        if not rows:
            if stopping:
                break
            time.sleep(rng.choice([0, 0.01, 0.1]))
    print(f"{changes} changes in {batches} batches, {restarts} restarts from a checkpoint")


def check(db, work):
    copy = Copy(os.path.join(work, "feed_copy.json"))
    copy.load()
    problems = 0
    for table in KEYS:
        rows = {key(table, r[0]): r[0] for r in psql(db, f'SELECT to_jsonb(t)::text FROM public."{table}" t')}
        mine = copy.tables[table]
        for k in sorted(set(rows) | set(mine)):
            if rows.get(k) != mine.get(k):
                problems += 1
                if problems <= 10:
                    print(f"{table} {k}: table {rows.get(k)}, copy {mine.get(k)}"[:400])
    # Positions are in commit order: reading after the last one read never missed one.
    feed = [int(r[0]) for r in psql(db, f"SELECT position FROM evp.changes WHERE position > {copy.start} "
                                        f"AND position <= {copy.position} ORDER BY position")]
    missed = sorted(set(feed) - set(copy.read))
    if missed:
        problems += 1
        print(f"positions never read: {missed[:10]}")
    print(f"copy of {sum(len(t) for t in copy.tables.values())} rows at position {copy.position}: "
          f"{problems} differences; each of the {len(feed)} positions after its start read")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] in ("follow", "read"):
        follow(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[1] == "follow")
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
