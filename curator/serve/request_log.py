"""What the HTTP server says about a request it could not read: one line, not a traceback.

aiohttp logs every malformed request (no `Host` header, a bad `Content-Length`, a header
line it cannot parse) with `logger.exception`, so anyone who can reach the port could fill
`curator serve`'s stderr with tracebacks that say nothing more than the 400 response does.
A request the parser refused is therefore one line naming its sender and the reason (escaped:
it quotes what the client sent); anything else (a 500 from a bug) keeps its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

from curator import safe_text


class RequestLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The `logger` aiohttp's request handler is given: a malformed request is said in one
    line through `say` (as the server says everything else); the rest goes to aiohttp's own
    server logger as before."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(server_logger, {})
        self._say = say

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError) and 400 <= exc_info.code < 500:
            where = args[0] if args else "?"
            reason = safe_text.error_line(exc_info.message, limit=200)
            self._say(
                f"refused a malformed request from {safe_text.one_line(str(where))} "
                f"({exc_info.code}): {reason}"
            )
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)
