"""The fakes' latency is the service's: a reply comes `latency` after the request arrived,
never sooner (a fake is never kinder than the service), and the fake's own parsing and checking
are part of that time rather than added to it (or the fake would set a bench's pace)."""

from __future__ import annotations

import subprocess
import sys
import time

import anthropic

from tests.fakes.servers import Behaviour, FakeAnthropic

MODEL = "claude-sonnet-5-5"


def test_a_reply_never_comes_sooner_than_the_latency() -> None:
    with FakeAnthropic(Behaviour(latency=0.3)) as fake:
        client = anthropic.Anthropic(api_key="test", base_url=fake.url, max_retries=0)
        for _ in range(3):
            start = time.monotonic()
            reply = client.messages.create(
                model=MODEL,
                max_tokens=64,
                messages=[{"role": "user", "content": "<question>What is 1 + 1?</question>"}],
            )
            assert time.monotonic() - start >= 0.3
            assert reply.content  # a real answer, not an error cut short
        client.close()


def test_a_pass_without_spilled_results_does_not_load_pyarrow() -> None:
    """Loading pyarrow (and, where installed, pandas behind its first array) holds the GIL for
    up to a second: a judge pass must not pay it before its first call."""
    script = (
        "import sys, tempfile, pathlib\n"
        "from curator.store import Store\n"
        "from curator.llm.passes import recover_unsaved\n"
        "from curator.store.verdicts import append_verdicts\n"
        "store = Store.open(pathlib.Path(tempfile.mkdtemp()) / 's.duckdb', create=True)\n"
        "assert recover_unsaved(store) == 0\n"
        "print(sorted(m for m in ('pyarrow', 'pandas') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
