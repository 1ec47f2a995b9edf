"""Checks what a LISTENing reader got during the soak against the final state: for each row of
the channels whose payload is the row (SPEC 2), the last notification names it as it is now
(or deletes it, if it is gone). Usage: soak_check.py LISTENED_FILE STATE_JSON_FILE, the state
as {"channel": [row, ...]}. Prints the figures; exits 1 on a mismatch."""

import json
import re
import sys

KEYS = {"vault_update": ["address"], "lp_update": ["address", "vault_address"], "or_update": ["address"]}
NOTIFICATION = re.compile(r'^Asynchronous notification "(\w+)" with payload "(.*)" received from server process')


def main():
    listened, state_path = sys.argv[1], sys.argv[2]
    last, received = {}, 0
    for line in open(listened, encoding="utf-8"):
        m = NOTIFICATION.match(line)
        if not m:
            continue
        received += 1
        channel, message = m.group(1), json.loads(m.group(2))
        if channel in KEYS:
            row = message["payload"]
            key = (channel,) + tuple(row[k] for k in KEYS[channel])
            last[key] = None if message["operation"] == "delete" else row
    state = json.load(open(state_path))
    now = {(c,) + tuple(r[k] for k in KEYS[c]): r for c in KEYS for r in state[c] or []}
    wrong = [k for k in set(now) | set(last) if now.get(k) != last.get(k)]
    print(f"{received} notifications; {len(now)} rows, {len(wrong)} whose last notification differs from the row")
    for k in sorted(wrong, key=str)[:5]:
        print(f"  {k}: last notified {last.get(k)}, now {now.get(k)}")
    sys.exit(1 if wrong or not received else 0)


main()
