"""The real parts of the SLA engine, started and always stopped: one Celery worker, Celery beat, and an
SMTP sink the worker's email notifications are delivered to (the app's own SMTP backend, no TLS).

The worker runs `celery -A config worker` exactly as deployed (prefork, `--concurrency 1` = one worker
process) with the bench's database and Redis db; beat runs `celery -A bench.beat_app beat` (the app's
schedule without auto-close) with its schedule file in a temporary directory. Only processes started
here are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.env import REPO, BenchEnv, log
from bench.server import _die_with_parent, _tail

CELERY = str(REPO / ".venv" / "bin" / "celery")
_LOG_LINE = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): (?P<level>\w+)/(?P<proc>[\w-]+)\] (?P<msg>.*)$"
)
_TASK = re.compile(
    r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] "
    r"(?P<what>received|succeeded in (?P<secs>[\d.e-]+)s: (?P<ret>.*))"
)


# --- SMTP sink -------------------------------------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); counts messages."""

    def handle(self) -> None:
        server: SmtpSink = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 bench-sink ESMTP\r\n")
        in_data = False
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    in_data = False
                    server.accepted()
                    self.wfile.write(b"250 2.0.0 queued\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                in_data = True
                self.wfile.write(b"354 end with .\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.wfile.write(b"250 ok\r\n")
            else:
                self.wfile.write(b"502 not implemented\r\n")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def accepted(self) -> None:
        with self._lock:
            self.messages += 1

    def start(self) -> SmtpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


# --- the worker's log: ticks and other tasks ------------------------------------------------------


@dataclass
class TaskRun:
    name: str
    received_at: float | None  # epoch seconds
    finished_at: float | None
    seconds: float | None
    result: str


@dataclass
class WorkerLog:
    path: Path
    offset: int = 0
    received: dict[str, float] = field(default_factory=dict)
    runs: list[TaskRun] = field(default_factory=list)
    discarded: int = 0
    errors: list[str] = field(default_factory=list)
    ready_at: float | None = None

    def read(self) -> WorkerLog:
        """Parses what the worker logged since the last call (the log is only appended to)."""
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return self
        end = chunk.rfind(b"\n")
        if end < 0:
            return self
        self.offset += end + 1
        for raw in chunk[: end + 1].decode(errors="replace").splitlines():
            self._line(raw)
        return self

    def _line(self, raw: str) -> None:
        m = _LOG_LINE.match(raw)
        if not m:
            return
        at = datetime.strptime(m["at"], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC).timestamp()
        msg = m["msg"]
        if msg.endswith(" ready."):
            self.ready_at = at
            return
        if "revoked" in msg or "expired" in msg.lower():
            self.discarded += 1
            return
        if m["level"] in ("ERROR", "CRITICAL") or "raised unexpected" in msg:
            self.errors.append(raw[:500])
        t = _TASK.search(msg)
        if not t:
            return
        if t["what"] == "received":
            self.received[t["id"]] = at
            return
        self.runs.append(
            TaskRun(
                name=t["name"],
                received_at=self.received.pop(t["id"], None),
                finished_at=at,
                seconds=float(t["secs"]),
                result=t["ret"],
            )
        )

    def runs_of(self, name: str, since: float = 0.0) -> list[TaskRun]:
        return [r for r in self.runs if r.name.endswith(name) and (r.finished_at or 0) >= since]


# --- processes ---------------------------------------------------------------------------------


def _rss_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1])
    return out


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _worker_memory(pid: int) -> dict[str, Any]:
    """Resident memory (KiB, from /proc) of a worker's main process and of its pool process(es)."""
    main = _rss_kib(pid)
    pool = [{"pid": c, **_rss_kib(c)} for c in _children(pid)]
    return {
        "main": {"pid": pid, **main},
        "pool": pool,
        "total_rss_kib": main.get("VmRSS", 0) + sum(p.get("VmRSS", 0) for p in pool),
    }


@dataclass
class Engine:
    """`worker` runs the SLA tasks (and everything else when the app does not route them to a queue of
    their own); `delivery` is the worker for the other queues when it does."""

    env: BenchEnv
    scratch: Path
    logdir: Path
    worker: subprocess.Popen[bytes]
    worker_log: WorkerLog
    smtp: SmtpSink
    delivery: subprocess.Popen[bytes] | None = None
    delivery_log: WorkerLog | None = None
    beat: subprocess.Popen[bytes] | None = None
    beat_log_path: Path | None = None
    commands: dict[str, list[str]] = field(default_factory=dict)

    def memory(self) -> dict[str, Any]:
        """The SLA worker's resident memory, with the delivery worker's and beat's for reference."""
        return {
            **_worker_memory(self.worker.pid),
            "delivery_worker": _worker_memory(self.delivery.pid) if self.delivery else None,
            "beat": {"pid": self.beat.pid, **_rss_kib(self.beat.pid)} if self.beat else None,
        }

    sla_queue: str = ""

    def start_beat(self) -> float:
        """Starts beat (its first sla-tick goes out at once); returns the moment it was launched."""
        assert self.beat is None
        self.beat_log_path = self.logdir / "beat.log"
        command = [
            CELERY,
            "-A",
            "bench.beat_app",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(self.scratch / "celerybeat-schedule"),
            "--pidfile",
            str(self.scratch / "celerybeat.pid"),
        ]
        self.commands["beat"] = command
        launched = time.time()
        extra = {"BENCH_SLA_QUEUE": self.sla_queue} if self.sla_queue else {}
        self.beat = _spawn(command, self.env, self.beat_log_path, self.smtp.port, extra)
        return launched

    def wait_ticks(self, count: int, timeout: float = 30.0, since: float = 0.0) -> None:
        """Until the worker has finished `count` sla_tick runs after `since`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.check_alive()
            if len(self.worker_log.read().runs_of("sla_tick", since)) >= count:
                return
            time.sleep(0.2)
        tail = _tail(self.worker_log.path)
        raise RuntimeError(f"fewer than {count} SLA ticks ran within {timeout:.0f}s:\n{tail}")

    def check_alive(self) -> None:
        if self.delivery is not None and self.delivery.poll() is not None and self.delivery_log:
            tail = _tail(self.delivery_log.path)
            raise RuntimeError(f"the delivery worker exited with {self.delivery.returncode}:\n{tail}")
        if self.worker.poll() is not None:
            tail = _tail(self.worker_log.path)
            raise RuntimeError(f"the worker exited with {self.worker.returncode}:\n{tail}")
        if self.beat is not None and self.beat.poll() is not None and self.beat_log_path:
            raise RuntimeError(f"beat exited with {self.beat.returncode}:\n{_tail(self.beat_log_path)}")


def _environ(env: BenchEnv, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        **env.app_environ(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "TZ": "UTC",  # log timestamps are read back as UTC
        "PYTHONWARNINGS": "ignore",
    }


def _spawn(
    command: list[str], env: BenchEnv, log_path: Path, smtp_port: int, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log_file = log_path.open("ab")
    try:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env={**_environ(env, smtp_port), **(extra or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    finally:
        log_file.close()


def _stop(proc: subprocess.Popen[bytes] | None, *, grace: float) -> None:
    """SIGTERM (warm shutdown), then SIGQUIT (cold), then SIGKILL to the process group we created."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGQUIT, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)


def flush_bench_redis(env: BenchEnv) -> None:
    """Empties the bench's own Redis db (queued ticks and deliveries of an earlier run, the sweep lock)."""
    import redis

    redis.Redis.from_url(env.redis_url, socket_connect_timeout=2).flushdb()


def _worker_command(name: str, pool: str, concurrency: int, queues: list[str]) -> list[str]:
    command = [
        CELERY,
        "-A",
        "config",
        "worker",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "-n",
        f"{name}@%h",
    ]
    return command + (["-Q", ",".join(queues)] if queues else [])


def _wait_ready(eng: Engine, wlog: WorkerLog, what: str) -> None:
    deadline = time.time() + 90
    while wlog.read().ready_at is None:
        eng.check_alive()
        if time.time() > deadline:
            raise RuntimeError(f"the {what} was not ready within 90s:\n{_tail(wlog.path)}")
        time.sleep(0.1)


@contextlib.contextmanager
def engine(
    env: BenchEnv,
    logdir: Path,
    *,
    name: str,
    pool: str = "prefork",
    concurrency: int = 1,
    sla_queues: list[str] | None = None,
    delivery_queues: list[str] | None = None,
    beat_sla_queue: str = "",
) -> Iterator[Engine]:
    """Ready workers (and an SMTP sink); call `start_beat()` when the scenario wants ticks. The SLA
    worker consumes `sla_queues` (every queue when None); with `delivery_queues` a second worker (one
    process) consumes those. `beat_sla_queue` makes beat send the SLA tasks to that queue (for an app
    that routes none). Logs go to `logdir`, beat's schedule file to a temporary directory. Everything
    is stopped on exit, the bench Redis db flushed before and after."""
    logdir.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.TemporaryDirectory(prefix="firebreak-bench-beat-")
    flush_bench_redis(env)
    smtp = SmtpSink().start()
    log_path = logdir / "worker.log"
    command = _worker_command(name, pool, concurrency, sla_queues or [])
    worker = _spawn(command, env, log_path, smtp.port)
    eng = Engine(
        env, Path(scratch.name), logdir, worker, WorkerLog(log_path), smtp, commands={"worker": command}
    )
    eng.sla_queue = beat_sla_queue
    try:
        if delivery_queues:
            delivery_path = logdir / "delivery-worker.log"
            delivery_command = _worker_command(f"{name}-delivery", "prefork", 1, delivery_queues)
            eng.delivery = _spawn(delivery_command, env, delivery_path, smtp.port)
            eng.delivery_log = WorkerLog(delivery_path)
            eng.commands["delivery_worker"] = delivery_command
        _wait_ready(eng, eng.worker_log, "worker")
        if eng.delivery_log is not None:
            _wait_ready(eng, eng.delivery_log, "delivery worker")
        queues = ",".join(sla_queues) if sla_queues else "every queue"
        extra = f"; delivery worker on {','.join(delivery_queues)}" if delivery_queues else ""
        log(f"    worker pid {worker.pid} ready on {queues} ({pool}, concurrency {concurrency}){extra}")
        yield eng
    finally:
        _stop(eng.beat, grace=5.0)
        _stop(worker, grace=10.0)
        _stop(eng.delivery, grace=10.0)
        smtp.stop()
        scratch.cleanup()
        with contextlib.suppress(Exception):
            flush_bench_redis(env)
