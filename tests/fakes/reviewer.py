"""A scripted reviewer process for the concurrency tests: decides records, prints each ack.

    python -m tests.fakes.reviewer DB NAME --shard K/N [--seconds S] [--first-action A]

A line `ack EVENT_UID UID ACTION` is printed (and flushed) once the decision is durable,
so a test can check that everything acknowledged survived, whatever happened afterwards.
"""

from __future__ import annotations

import argparse
import time

from curator.domain import RecordFilter
from curator.store import Store
from curator.store.journal import journal_for
from curator.store.reviews import decide, queue_page, record_detail


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("name")
    parser.add_argument("--shard", required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--also", default=None, help="a uid to decide first (conflict tests)")
    parser.add_argument("--also-action", default="accept")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between keypresses")
    parser.add_argument("--count", type=int, default=0, help="stop after this many decisions")
    args = parser.parse_args()
    k, n = (int(x) for x in args.shard.split("/"))
    store = Store(args.db)
    store.open_session()  # as the TUI does
    filt = RecordFilter(shard=(k, n), statuses=("pending",))
    # As the TUI: the records ahead are read before they are needed, and a decision is
    # acknowledged once it is durable in this process's journal (stored in the background).
    todo = [row.uid for row in queue_page(store, filt, sort="store", limit=60)]
    if args.also:
        todo = [args.also, *(u for u in todo if u != args.also)]
    details = [record_detail(store, uid) for uid in todo]
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    for i, (uid, detail) in enumerate(zip(todo, details, strict=True)):
        if time.monotonic() >= deadline or (args.count and i >= args.count):
            break
        assert detail is not None
        action = args.also_action if uid == args.also else ("reject" if i % 4 == 3 else "accept")
        event = decide(
            store,
            uid,
            action,
            args.name,
            reason="scripted" if action == "reject" else "",
            record_hash=detail.record_hash,
            wait=False,
        )
        print(f"ack {event.event_uid} {event.record_uid} {event.action}", flush=True)
        time.sleep(args.pause)
    journal_for(store).wait_stored()
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
