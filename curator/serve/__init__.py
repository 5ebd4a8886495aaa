"""`curator serve`: the review TUI in a browser, one app process per connection.

`access` decides who may start a session (reviewer names, the optional password, sessions and
single-use websocket tickets), `pages` writes the two HTML pages, `server` is the aiohttp
application around textual-serve's `AppService` (which runs one `curator review` process per
browser connection and relays its terminal to xterm.js). Nothing here imports Textual: the app
runs in its own process.
"""

from curator.serve.access import Access, clean_reviewer
from curator.serve.server import ServeOptions, review_command, run

__all__ = ["Access", "ServeOptions", "clean_reviewer", "review_command", "run"]
