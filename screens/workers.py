"""Screens' workers fail the way the app's do: their state changes go to the app's one handler.

Worker.StateChanged does not bubble, so a screen forwards it (one line); the app turns an
error into a single StoreFailed notification instead of closing (workers use exit_on_error=False).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.worker import Worker

    from curator.screens.app import CuratorApp


def forward_worker_state(node: DOMNode, event: Worker.StateChanged) -> None:
    cast("CuratorApp", node.app).worker_changed(event)
