"""Splits a chain in the plugin's restart shape (plugin_restart.py's output) for held_indexer.sh:
a live block T after the chain's last reorg, whose transaction the indexer runs while another
session holds the extension's lock (a lock timeout), and a later live block K with events,
whose transaction gets one more event that does not decode (a Deposit whose amount is
"0x5g"), inserted as the plugin inserts events. Writes to OUT_DIR: before_t.sql, t.sql,
after_t.sql (K's bad event included), before_k.sql (the chain's transactions before K, as
they are), and prints "T K" (their block numbers).

Usage: held_chain.py CHAIN OUT_DIR"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from plugin_restart import EVENT, live_block, transactions  # noqa: E402


def write(path, txs):
    with open(path, "w") as f:
        for statements, between in txs:
            f.write("".join(between) + "BEGIN;\n" + "".join(statements) + "COMMIT;\n")


def main():
    chain, out = sys.argv[1], sys.argv[2]
    with open(chain) as f:
        txs = transactions(f.readlines())
    last_reorg = max(i for i, (t, _) in enumerate(txs) if any(s.startswith("UPDATE starknet_blocks") for s in t))
    live = [i for i in range(last_reorg + 1, len(txs)) if live_block(txs[i][0])]
    t = live[2]
    k = next(i for i in live if i > t + 3 and any(EVENT.match(s) for s in txs[i][0]))
    statements, between = txs[k]
    first = next(s for s in statements if EVENT.match(s))
    vault = EVENT.match(first).group(1)
    number, block_hash = live_block(statements)
    bad = ("INSERT INTO events (transaction_hash, vault_address, block_number, block_hash, event_name, event_keys, "
           f"event_data, event_nonce) VALUES ('0xbad', '{vault}', {number}, '{block_hash}', 'Deposit', "
           "ARRAY['0x9149d2123147c5f43d258257fef0b7b969db78269369ebcf5ebb9eef8592f2','0xbad'], "
           "ARRAY['0x5g','0x0','0x5','0x0','0x5','0x0'], "
           f"(SELECT COUNT(*) + 1 FROM events WHERE vault_address = '{vault}'));\n")
    at = statements.index(first)
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "before_k.sql"), txs[:k])
    txs[k] = (statements[:at] + [bad] + statements[at:], between)
    write(os.path.join(out, "before_t.sql"), txs[:t])
    write(os.path.join(out, "t.sql"), txs[t:t + 1])
    write(os.path.join(out, "after_t.sql"), txs[t + 1:])
    print(live_block(txs[t][0])[0], number)


if __name__ == "__main__":
    main()
