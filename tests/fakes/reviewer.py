"""A scripted reviewer process for the concurrency tests: decides records, prints each ack.

    python -m tests.fakes.reviewer DB NAME --shard K/N [--seconds S] [--first-action A]

A line `ack EVENT_ID UID ACTION` is printed (and flushed) only after the decision committed,
so a test can check that everything acknowledged survived, whatever happened afterwards.
"""

from __future__ import annotations

import argparse
import time

from curator.domain import RecordFilter
from curator.store import Store
from curator.store.reviews import decide, first_pending


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("name")
    parser.add_argument("--shard", required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--also", default=None, help="a uid to decide first (conflict tests)")
    parser.add_argument("--also-action", default="accept")
    args = parser.parse_args()
    k, n = (int(x) for x in args.shard.split("/"))
    store = Store(args.db)
    store.open_session(idle_release=0.2)  # as the TUI does
    filt = RecordFilter(shard=(k, n))
    if args.also:
        event = decide(store, args.also, args.also_action, args.name)
        print(f"ack {event.event_id} {event.record_uid} {event.action}", flush=True)
    deadline = time.monotonic() + args.seconds
    i = 0
    while time.monotonic() < deadline:
        row = first_pending(store, filt, sort="store")
        if row is None:
            break
        action = "reject" if i % 4 == 3 else "accept"
        event = decide(
            store, row.uid, action, args.name, reason="scripted" if action == "reject" else ""
        )
        print(f"ack {event.event_id} {event.record_uid} {event.action}", flush=True)
        i += 1
        time.sleep(0.05)  # a fast reviewer, but a human-shaped one
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
