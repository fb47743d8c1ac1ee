"""Starting and always stopping the gunicorn the HTTP arms talk to (127.0.0.1, a free port)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.env import REPO, BenchEnv, log

HOST = "127.0.0.1"


@dataclass
class Server:
    port: int
    workers: int
    worker_class: str
    command: list[str]
    log_path: Path
    pid: int


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM gunicorn if the bench itself is killed."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _has_setting(name: str) -> bool:
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return False
    return any(getattr(setting, "name", None) == name for setting in KNOWN_SETTINGS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def gunicorn(
    env: BenchEnv, *, workers: int, worker_class: str, threads: int, log_path: Path
) -> Iterator[Server]:
    """Runs `gunicorn config.wsgi:application` like the Procfile's web process (no access log, so the
    figures are the app's, not the log pipe's) and stops it on exit, error or Ctrl-C."""
    port = free_port()
    command = [
        str(REPO / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--graceful-timeout",
        "5",
        "--timeout",
        "120",
        "--backlog",
        "256",
    ]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    if _has_setting("control_socket_disable"):
        # Newer gunicorns open a control socket at a per-user default path; a developer's own
        # gunicorn may be using it, so the bench's instance opens none.
        command.append("--no-control-socket")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **env.app_environ(), "PYTHONWARNINGS": "ignore:No directory at"},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        _wait_ready(proc, port, log_path)
        log(f"  gunicorn pid {proc.pid} on {HOST}:{port}, {workers} {worker_class} workers")
        yield Server(port, workers, worker_class, command, log_path, proc.pid)
    finally:
        _stop(proc)
        log_file.close()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    url = f"http://{HOST}:{port}/healthz"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f}s:\n{_tail(log_path)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to our gunicorn master (it stops its workers), then SIGKILL to its process group if it
    lingers. Only the process this module started is signalled."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
