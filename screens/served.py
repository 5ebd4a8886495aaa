"""The review app behind `curator serve`: it ends when the server is gone.

textual-serve runs each browser tab's app with Textual's web driver, whose input is the app's
stdin, a pipe from the server. When the server ends normally it tells the app to quit; when it
is killed (kill -9, a crash, the OOM killer) the pipe just closes, and Textual's web driver
then stops reading and nothing more: the app ran on with no one to see it, for ever, one more
per killed server, each taking turns on the store. Here the end of the input is the server's
quit: the app stores its journaled decisions and exits, as when the tab closes.
"""

from __future__ import annotations

from textual import messages
from textual.driver import Driver
from textual.drivers.web_driver import WebDriver


class ServedDriver(WebDriver):
    """Textual's web driver whose input ending (the server gone) quits the app."""

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        finally:
            if not self.exit_event.is_set():  # not the app's own exit: the server is gone
                self._app.post_message(messages.ExitApp())


def served(driver: type[Driver]) -> type[Driver]:
    """The driver the app runs with: `ServedDriver` in place of Textual's web driver."""
    return ServedDriver if driver is WebDriver else driver
