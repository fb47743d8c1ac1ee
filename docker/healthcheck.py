"""Container health check for the web service: exit 0 when `GET /healthz` on this container answers 200.

Docker runs it inside the container (the slim image has no curl). Two production settings would
otherwise make a plain request to 127.0.0.1 fail even on a healthy instance, so the request:

* names a host from ALLOWED_HOSTS, because Django answers 400 to any other Host header;
* says it arrived over HTTPS (X-Forwarded-Proto, which production settings trust), because with
  SECURE_SSL_REDIRECT on Django answers 301 to plain HTTP.

Standard library only, so it starts fast and does not import Django.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

URL = "http://127.0.0.1:8000/healthz"
TIMEOUT_SECONDS = 4.0


def host_header(allowed_hosts: str | None) -> str:
    """A Host value Django accepts: the first ALLOWED_HOSTS entry, made concrete."""
    entries = [item.strip() for item in (allowed_hosts or "").split(",") if item.strip()]
    if not entries:
        return "localhost"  # Django's default ALLOWED_HOSTS in config.settings.base includes it
    first = entries[0]
    if first == "*":
        return "localhost"
    return first.lstrip(".")  # ".example.com" matches "example.com" itself


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the failure it is instead of following it somewhere else."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def main() -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(
        URL,
        headers={"Host": host_header(os.environ.get("ALLOWED_HOSTS")), "X-Forwarded-Proto": "https"},
    )
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(500).decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as exc:
        print(f"unhealthy: HTTP {exc.code} {exc.read(500).decode('utf-8', 'replace')}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: HTTP {status} {body}", file=sys.stderr)
        return 1
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
