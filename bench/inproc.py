"""Calling the app in process through Django's WSGI handler: the same middleware, URL routing,
authentication, parsing, validation, service and rendering as under gunicorn, without the socket."""

from __future__ import annotations

import io
import time
from typing import Any


class InProcessClient:
    def __init__(self, token: str = "", *, cookie: str = "") -> None:
        """Authenticated by an API token, or (for pages) by a session cookie."""
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.token = token
        self.cookie = cookie

    def _environ(self, method: str, path: str, query: str, body: bytes) -> dict[str, Any]:
        return {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            **(
                {"HTTP_AUTHORIZATION": f"Token {self.token}", "HTTP_ACCEPT": "application/json"}
                if self.token
                else {}
            ),
            **({"HTTP_COOKIE": self.cookie} if self.cookie else {}),
            "CONTENT_TYPE": "application/json" if body else "",
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }

    def call(self, method: str, path: str, *, query: str = "", body: bytes = b"") -> tuple[int, bytes, float]:
        """(status, body, seconds) — the time covers the whole request, body read and close included."""
        environ = self._environ(method, path, query, body)
        status_holder: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_holder.append(status)
            return lambda data: None

        started = time.perf_counter()
        response = self.handler(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()  # sends request_finished: Django's end-of-request connection handling
        elapsed = time.perf_counter() - started
        return int(status_holder[0].split()[0]), content, elapsed
