"""``lessons site --serve``: a preview of the built site on 127.0.0.1 only."""

from __future__ import annotations

import functools
import posixpath
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from lessons.errors import UsageError

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site's folder under its base path; answers 404 with the site's page."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        url_path = unquote(urlsplit(path).path)
        if not url_path.startswith(self.prefix):
            # Outside the base path: nothing (the 404 page answers).
            return str(Path(self.directory) / ".lessons-site-none")
        rest = posixpath.normpath("/" + url_path[len(self.prefix) :])
        return super().translate_path(rest)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: Any) -> None:
        # The preview is quiet: the command prints where it is, not every request.
        pass


class _Server(ThreadingHTTPServer):
    """The preview's server: a browser that goes away mid-answer (a closed tab, a
    search typed over) is not an error to print a traceback for."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def preview_server(folder: Path, port: int = 8000, base_path: str = "/") -> ThreadingHTTPServer:
    """A server for ``folder`` at ``http://127.0.0.1:PORT{base_path}`` (not started:
    call ``serve_forever``). Port 0 picks a free port."""
    path = base_path if base_path.startswith("/") else urlsplit(base_path).path or "/"
    handler = type("SiteHandler", (_Handler,), {"prefix": path.rstrip("/") + "/"})
    try:
        return _Server((HOST, port), functools.partial(handler, directory=str(folder)))
    except OSError as exc:
        raise UsageError(
            f"cannot serve on {HOST}:{port}: {exc.strerror}",
            hint="choose another port with --port",
        ) from None
