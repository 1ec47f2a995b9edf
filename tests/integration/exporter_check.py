"""Scrapes the exporter (argument: its /metrics URL) and checks it against what the database
says (stdin: "metric value" lines, the metric with its labels), and for the worker's state
(evp_worker_info{state}). Then evaluates the alerts of docs/operating.md
(Monitoring) on the scrape: exactly EvpHeldBlocks and EvpConsumerLag must fire.
Prints what it checked, or the problems; exits 1 on a problem."""

import re
import sys
import time
import urllib.request

# The alerts of docs/operating.md (Monitoring): name, metric, threshold (fires above it).
ALERTS = [
    ("EvpLagging", "evp_lag_blocks", 20),
    ("EvpHeldBlocks", "evp_held_blocks", 0),
    ("EvpEventsFailed", "evp_events_failed", 0),
    ("EvpNotificationsSkipped", "evp_notifications_skipped", 0),
    ("EvpWorkerDown", "evp_worker_running", None),  # fires at 0
    ("EvpConsumerLost", "evp_feed_consumers_lost", 0),
    ("EvpConsumerLag", "evp_consumer_lag_blocks", 10),
]
FIRING = {"EvpHeldBlocks", "EvpConsumerLag"}


def scrape(url):
    for _ in range(100):
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            if "evp_applied_block" in text:
                return text
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(print(f"no evp_ metric at {url} in 20 s") or 1)


def parse(text):
    """metric name with its labels sorted, as in the expected lines -> value"""
    metrics = {}
    for line in text.splitlines():
        m = re.match(r"^(evp_\w+)(\{[^}]*\})? (\S+)$", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        labels.pop("server", None)
        key = m.group(1) + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "")
        metrics[key] = float(m.group(3))
    return metrics


def main():
    got = parse(scrape(sys.argv[1]))
    problems = []
    expected = {}
    for line in sys.stdin.read().splitlines():
        name, _, value = line.rpartition(" ")
        expected[name] = value
    for name, value in sorted(expected.items()):
        if name not in got:
            problems.append(f"{name} missing")
        elif value and float(value) != got[name]:
            problems.append(f"{name} = {got[name]:g}, the database says {value}")
    # The worker's state changes as it looks for work: one state, whichever.
    states = [k for k, v in got.items() if k.startswith("evp_worker_info{") and v == 1]
    if len(states) != 1:
        problems.append(f"evp_worker_info: {states}, expected one state")
    fired = set()
    for alert, metric, threshold in ALERTS:
        values = [v for k, v in got.items() if k == metric or k.startswith(metric + "{")]
        if not values:
            problems.append(f"alert {alert}: no {metric}")
        elif any((v == 0) if threshold is None else (v > threshold) for v in values):
            fired.add(alert)
    if fired != FIRING:
        problems.append(f"alerts firing: {sorted(fired)}, expected {sorted(FIRING)}")
    if problems:
        print("; ".join(problems))
        return 1
    print(f"{len(expected)} metrics equal to the database's; alerts firing: {', '.join(sorted(fired))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
