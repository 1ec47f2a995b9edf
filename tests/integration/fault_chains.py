"""Writes the fault tests' chains as SQL, one file per block, in the indexer's way (its events,
then its row, in one transaction): `small/` (three vaults through six rounds, bench/chain.py)
and `large/` (one vault with LPS LPs and its LP-wide transitions, bench/chain.py's scale
chain). Usage: fault_chains.py OUT_DIR LPS. Prints the large chain's files of AuctionStarted,
AuctionEnded and OptionRoundSettled."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import chain as gen  # noqa: E402


def literal(s):
    return "'" + s.replace("'", "''") + "'"


def block_sql(block):
    number, h, parent, ts, events = block
    out = ["BEGIN;"]
    if events:
        rows = ",\n".join(
            f"({e.nonce}, {number}, '{h}', '{e.vault}', '{e.name}', {literal('{' + ','.join(e.keys) + '}')}, "
            f"{literal('{' + ','.join(e.data) + '}')}, '0x1')" for e in events)
        out.append("INSERT INTO events (event_nonce, block_number, block_hash, vault_address, event_name, "
                   f"event_keys, event_data, transaction_hash) VALUES\n{rows};")
    out.append(f"INSERT INTO starknet_blocks VALUES ({number}, '{h}', '{parent}', {ts}, 'MINED');")
    out.append("COMMIT;")
    return "\n".join(out) + "\n"


def write(directory, blocks):
    os.makedirs(directory, exist_ok=True)
    names = []
    for i, b in enumerate(blocks):
        name = os.path.join(directory, f"{i:05d}.sql")
        with open(name, "w") as f:
            f.write(block_sql(b))
        names.append(name)
    return names


def main():
    out, lps = sys.argv[1], int(sys.argv[2])
    write(os.path.join(out, "small"), gen.chain(vaults=3, lps=20, rounds=6, bidders=4, bids_per_bidder=2))
    large = gen.scale_chain(lps)
    names = write(os.path.join(out, "large"), large)
    wide = {b[4][0].name: n for b, n in zip(large, names) if len(b[4]) == 1}
    print(wide["AuctionStarted"], wide["AuctionEnded"], wide["OptionRoundSettled"])


if __name__ == "__main__":
    main()
