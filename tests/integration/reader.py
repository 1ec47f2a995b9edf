"""Reads the state and the notifications as the Pitch Lake websocket server does (SPEC 7.2):
its SQL, run for every vault, LP and buyer of a fixture, and its JSON decoding of every
notification, with the types it scans and decodes into (pitchlake_db_server's models and db.go).

    reader.py queries DATABASE EXPECTED_JSON   the reader's SQL, checked against the fixture
    reader.py notifications FILE               psql's output of a LISTENing session, decoded

Prints one line per problem and a last line "reader problems: N".
"""

import json
import re
import subprocess
import sys

# The Go types the reader scans columns and decodes keys into. A NULL (or a missing key, or a
# JSON null) in STR, U64 or BOOL fails it: pgx refuses to scan NULL into a string, uint64 or
# bool, and the UI shows the zero value of a missing key. BIG is its big-integer type, which
# takes NULL and any integer.
STR, U64, BIG, BOOL = "string", "uint64", "big integer", "bool"

VAULT = {
    "current_round": BIG, "current_round_address": STR, "unlocked_balance": BIG, "locked_balance": BIG,
    "stashed_balance": BIG, "address": STR, "latest_block": BIG, "deployment_date": U64,
    "fossil_client_address": STR, "eth_address": STR, "option_round_class_hash": STR, "alpha": BIG,
    "strike_level": BIG, "auction_duration": U64, "round_duration": U64, "round_transition_period": U64,
}
LP = {
    "address": STR, "vault_address": STR, "unlocked_balance": BIG, "locked_balance": BIG,
    "stashed_balance": BIG, "latest_block": BIG,
}
ROUND = {
    "address": STR, "vault_address": STR, "round_id": BIG, "cap_level": BIG, "start_date": U64,
    "end_date": U64, "settlement_date": U64, "starting_liquidity": BIG, "queued_liquidity": BIG,
    "remaining_liquidity": BIG, "unsold_liquidity": BIG, "available_options": BIG, "reserve_price": BIG,
    "settlement_price": BIG, "strike_price": BIG, "sold_options": BIG, "clearing_price": BIG, "state": STR,
    "premiums": BIG, "payout_per_option": BIG, "deployment_date": U64,
}
BUYER = {
    "address": STR, "round_address": STR, "mintable_options": BIG, "refundable_amount": BIG,
    "has_minted": BOOL, "has_refunded": BOOL,
}
# bids_update is decoded into a type whose buyer is "address" and whose tree_nonce is a string.
BID_PAYLOAD = {
    "address": STR, "round_address": STR, "bid_id": STR, "tree_nonce": STR, "amount": BIG, "price": BIG,
}
BID_ROW = {
    "buyer_address": STR, "round_address": STR, "bid_id": STR, "tree_nonce": STR, "amount": BIG, "price": BIG,
}
CHANNELS = {"vault_update": VAULT, "lp_update": LP, "or_update": ROUND, "ob_update": BUYER, "bids_update": BID_PAYLOAD}

# The reader's statements (db.go), with its parameters.
SQL = {
    "vault": (VAULT, """SELECT current_round, current_round_address, unlocked_balance, locked_balance, stashed_balance, address, latest_block, deployment_date, fossil_client_address, eth_address, option_round_class_hash, alpha, strike_level, auction_duration, round_duration, round_transition_period FROM public."VaultStates" WHERE address=$1"""),
    "rounds": (ROUND, """
	SELECT 
    address, vault_address, round_id, cap_level, start_date, end_date, settlement_date, 
    starting_liquidity, queued_liquidity,remaining_liquidity, unsold_liquidity, available_options, reserve_price, 
    settlement_price, strike_price, sold_options, clearing_price, state, 
    premiums, payout_per_option, deployment_date
	FROM 
		public."Option_Rounds" 
	WHERE 
		vault_address = $1 
	ORDER BY 
		round_id ASC;"""),
    "lp": (LP, """SELECT address, vault_address, unlocked_balance, locked_balance, stashed_balance, latest_block FROM public."Liquidity_Providers" WHERE address=$1 AND vault_address=$2"""),
    "buyer": (BUYER, """SELECT address, round_address, mintable_options, refundable_amount, has_minted, has_refunded 
	          FROM public."Option_Buyers" WHERE address=$1"""),
    "bids": (BID_ROW, """SELECT buyer_address, round_address, bid_id, tree_nonce, amount, price 
		             FROM public."Bids" WHERE buyer_address=$1 AND round_address=$2"""),
    "vaults": ({"address": STR}, """SELECT address FROM "VaultStates" """),
}

problems = []


def problem(what):
    problems.append(what)
    print(what)


def check(value, kind, where):
    """Whether a decoded value fits the reader's type; `where` names it in a problem."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    ok = {
        STR: isinstance(value, str),
        U64: integer and 0 <= value < 2**64,
        BIG: value is None or integer,
        BOOL: isinstance(value, bool),
    }[kind]
    if not ok:
        problem(f"{where}: {value!r} does not decode into a {kind}")


def check_object(obj, fields, where):
    if not isinstance(obj, dict):
        return problem(f"{where}: not a JSON object")
    for key, kind in fields.items():
        if key not in obj:
            problem(f"{where}: no key {key!r}")
        else:
            check(obj[key], kind, f"{where} {key}")
    if "tree_nonce" in fields and isinstance(obj.get("tree_nonce"), str) and not obj["tree_nonce"].isdigit():
        problem(f"{where}: tree_nonce {obj['tree_nonce']!r} is not a decimal string")


NOTIFICATION = re.compile(r'^Asynchronous notification "(\w+)" with payload "(.*)" received from server process with PID \d+\.$')


def notifications(path):
    counts = {}
    for line in open(path, encoding="utf-8"):
        m = NOTIFICATION.match(line.rstrip("\n"))
        if not m or m.group(1) not in CHANNELS:
            continue
        channel, text = m.groups()
        where = f"{channel} #{counts.get(channel, 0) + 1}"
        counts[channel] = counts.get(channel, 0) + 1
        try:
            message = json.loads(text)
        except json.JSONDecodeError as e:
            problem(f"{where}: not JSON ({e})")
            continue
        if message.get("operation") not in ("insert", "update", "delete"):
            problem(f"{where}: operation {message.get('operation')!r}")
        check_object(message.get("payload"), CHANNELS[channel], where)
    summary = ", ".join(f"{c} {n}" for c, n in sorted(counts.items()))
    print(f"decoded {sum(counts.values())} notifications ({summary})")
    if not counts:
        problem("no notification was received")


def literal(v):
    return "'" + str(v).replace("'", "''") + "'"


def run(db, name, *args):
    """The reader's statement `name` with `args`: its rows as dicts, scanned as the reader does."""
    fields, sql = SQL[name]
    params = ", ".join(["text"] * len(args))
    # EXECUTE cannot be wrapped; its rows are printed as psql's unaligned text, NULL as \N.
    script = (f"PREPARE q{f'({params})' if args else ''} AS {sql.rstrip().rstrip(';')};\n"
              f"EXECUTE q{'(' + ', '.join(map(literal, args)) + ')' if args else ''};\n")
    out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-A", "-t", "-F", "\x1f",
                          "-P", "null=\\N"], input=script, capture_output=True, text=True)
    if out.returncode != 0:
        problem(f"{name}{args}: {out.stderr.strip()}")
        return []
    rows = []
    for line in out.stdout.splitlines():
        values = line.split("\x1f")
        row = {}
        for (key, kind), text in zip(fields.items(), values):
            where = f"{name}{args} {key}"
            if text == "\\N":
                value = None
            elif kind in (U64, BIG):
                value = int(text) if re.fullmatch(r"-?\d+", text) else text
            elif kind == BOOL:
                value = {"t": True, "f": False}.get(text, text)
            else:
                value = text
            check(value, kind, where)
            row[key] = value
        rows.append(row)
    return rows


def expect_rows(rows, n, what):
    if len(rows) != n:
        problem(f"{what}: {len(rows)} rows, a subscriber should get {n}")


def queries(db, expected_path):
    expected = json.load(open(expected_path))
    vaults = [v["address"] for v in expected["VaultStates"]]
    expect_rows(run(db, "vaults"), len(vaults), "all vaults")
    n = 0
    for vault in vaults:
        expect_rows(run(db, "vault", vault), 1, f"vault {vault}")
        rounds = run(db, "rounds", vault)
        ids = sorted(int(r["round_id"]) for r in expected["Option_Rounds"] if r["vault_address"] == vault)
        if [r["round_id"] for r in rounds] != ids:
            problem(f"rounds of {vault}: {[r['round_id'] for r in rounds]}, a subscriber should get {ids}")
        n += 2
    for lp in expected["Liquidity_Providers"]:
        expect_rows(run(db, "lp", lp["address"], lp["vault_address"]), 1, f"LP {lp['address']} of {lp['vault_address']}")
        n += 1
    for buyer in sorted({b["address"] for b in expected["Option_Buyers"]}):
        rows = run(db, "buyer", buyer)
        expect_rows(rows, sum(b["address"] == buyer for b in expected["Option_Buyers"]), f"buyer {buyer}")
        n += 1
        for row in rows:
            bids = run(db, "bids", buyer, row["round_address"])
            want = sum(b["buyer_address"] == buyer and b["round_address"] == row["round_address"] for b in expected["Bids"])
            expect_rows(bids, want, f"bids of {buyer} in {row['round_address']}")
            n += 1
    print(f"ran {n + 1} of the reader's statements for {len(vaults)} vaults, {len(expected['Liquidity_Providers'])} LPs "
          f"and {len({b['address'] for b in expected['Option_Buyers']})} buyers")


if __name__ == "__main__":
    if sys.argv[1] == "queries":
        queries(sys.argv[2], sys.argv[3])
    else:
        notifications(sys.argv[2])
    print(f"reader problems: {len(problems)}")
    sys.exit(1 if problems else 0)
