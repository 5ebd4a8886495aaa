"""One error path for every worker: a failed store read is one notification, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.worker import WorkerFailed

from curator.screens.app import CuratorApp
from curator.screens.eval import EvalScreen
from curator.screens.modals import FilterScreen
from tests.functional.test_review_tui import SIZE, make_store, settle


def _messages(app: CuratorApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.parametrize(
    ("read", "open_screen", "doing"),
    [
        ("eval_reports", lambda app: EvalScreen(), "scoring the runs"),
        ("stats", lambda app: FilterScreen(app.reads, app.queue.filt), "counting"),
    ],
)
async def test_a_screen_worker_that_fails_is_a_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str, open_screen: object, doing: str
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk went away \x1b[31m")

    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        monkeypatch.setattr(app.reads, read, broken)
        assert callable(open_screen)
        await app.push_screen(open_screen(app))
        await settle(app, pilot, tolerate=(WorkerFailed,))
        assert app.is_running  # exit_on_error=False: the app stays up
        errors = [m for m in _messages(app) if m.startswith(f"Error {doing}:")]
        assert errors and "disk went away" in errors[0] and "\x1b" not in errors[0]


async def test_an_app_worker_that_fails_is_a_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store(tmp_path)
    app = CuratorApp(store, reviewer="ana")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        import curator.store.records as records

        def broken(*_args: object, **_kwargs: object) -> int:
            raise RuntimeError("count failed")

        monkeypatch.setattr(records, "count", broken)
        app.load_counts()
        await settle(app, pilot, tolerate=(WorkerFailed,))
        assert app.is_running
        assert any(m.startswith("Error counting: count failed") for m in _messages(app))
