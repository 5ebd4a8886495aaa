"""The two HTML pages of `curator serve`: the login form and the terminal page.

The terminal page is textual-serve's own page (its xterm.js client, `static/js/textual.js`,
reads the websocket address from `data-session-websocket-url`), rewritten so that it loads
nothing from outside the server (textual-serve's template fetches a web font from Google; the
same font ships in its static folder) and builds the websocket address in the browser from the
page's own address, so it works through an SSH tunnel or a TLS proxy as well as directly.
Every value from a request is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from curator import safe_text

_STYLE = """
body { background: #0c181f; color: rgba(255,255,255,0.95); margin: 0;
       font-family: "Roboto Mono", menlo, monospace; }
@font-face { font-family: "Roboto Mono";
             src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf"); }
.dialog-container { position: absolute; width: 100vw; height: 100vh; display: flex;
                    align-items: center; justify-content: center; z-index: 10; }
.intro { width: 640px; min-height: 200px; font-size: 16px; z-index: 20; text-align: center;
         background-color: #12232d; display: flex; flex-direction: column; align-items: center;
         justify-content: center; padding: 24px; }
button { padding: 12px 32px; background-color: #5e0ba7; color: rgba(255,255,255,0.95);
         border: none; font-family: inherit; margin: 16px; cursor: pointer; }
button:hover { background: #ac5af4; }
input { font-family: inherit; font-size: 16px; padding: 6px; margin: 6px; width: 280px; }
label { display: block; margin-top: 8px; }
.error { color: #ff8a80; margin: 8px; }
body.-first-byte .intro-dialog { display: none; }
body .textual-terminal { opacity: 0; }
body.-first-byte .textual-terminal { opacity: 1; }
.closed-dialog { display: none; }
body.-closed .closed-dialog { display: flex; }
.textual-terminal { position: absolute; inset: 0; }
"""


def _page(title: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{escape(title)}</title>\n{head}<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def login_page(*, reviewer: str, needs_password: bool, error: str = "", title: str) -> str:
    """Name (prefilled from ?reviewer=, control characters shown as escapes) and, when the
    server has one, the password."""
    reviewer = safe_text.one_line(reviewer)
    password = (
        "<label for='password'>Password</label>"
        "<input id='password' name='password' type='password' autocomplete='current-password'"
        " required autofocus>"
        if needs_password
        else ""
    )
    name_focus = "" if needs_password and reviewer else " autofocus"
    problem = f"<div class='error' role='alert'>{escape(error)}</div>" if error else ""
    body = (
        "<div class='dialog-container'><form class='intro' method='post' action='/login'>"
        f"<div>{escape(title)}</div>{problem}"
        "<label for='reviewer'>Your name (stored on every decision)</label>"
        f"<input id='reviewer' name='reviewer' value='{escape(reviewer, quote=True)}'"
        f" maxlength='64' required autocomplete='username'{name_focus}>"
        f"{password}<button type='submit' id='login'>Start reviewing</button></form></div>"
    )
    return _page(title, body)


def terminal_page(*, ticket: str, reviewer: str, title: str, font_size: int = 16) -> str:
    """The xterm.js page whose websocket starts this reviewer's app process."""
    head = (
        "<link rel='stylesheet' href='/static/css/xterm.css'>\n"
        "<script src='/static/js/textual.js'></script>\n"
    )
    ws_path = f"/ws/{escape(ticket, quote=True)}"
    body = (
        "<div class='dialog-container intro-dialog'><div class='intro'>"
        f"<div>{escape(title)} · {escape(reviewer)}</div><div>starting…</div></div></div>\n"
        "<div class='dialog-container closed-dialog'><div class='intro'>"
        "<div class='message'>Session ended.</div>"
        "<button type='button' onclick='window.location.reload()'>Restart</button>"
        "<a href='/logout' style='color: inherit'>Log out</a></div></div>\n"
        "<div id='terminal' class='textual-terminal' data-session-websocket-url=''"
        f" data-font-size='{int(font_size)}' data-ws-path='{ws_path}'></div>\n"
        # textual.js reads the address in window.onload, after this runs.
        "<script>const t = document.getElementById('terminal');"
        "t.dataset.sessionWebsocketUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://')"
        " + location.host + t.dataset.wsPath;</script>"
    )
    return _page(f"{title} · {reviewer}", body, head)
