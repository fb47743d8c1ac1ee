"""Load generators: closed-loop clients, one per process, for the HTTP arms and their psycopg2 floors.

No Django here (these modules are imported by `spawn`ed processes). Each client owns one connection:
an HTTP/1.1 keep-alive socket to 127.0.0.1 (re-opened whenever the server answers
`Connection: close`, as gunicorn's sync workers do after every request) or one psycopg2 connection.
Request bodies are built before the clock starts, or between requests outside the timed span.

Every loop is bounded in count (`max_items`) and in time (`duration` + `warmup`, plus a hard
`timeout` per request).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import queue
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bench import synth

MENTION_INSERT = (
    f"INSERT INTO incidents_mention ({synth.MENTION_COLUMNS}) VALUES "
    "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::varchar[],%s::varchar[],%s::jsonb,%s,%s) "
    "ON CONFLICT (platform, external_id) DO NOTHING RETURNING id, platform, external_id, incident_id"
)
MENTION_COPY = f"COPY incidents_mention ({synth.MENTION_COLUMNS}) FROM STDIN"
ALLOWED_HOSTS = ("127.0.0.1",)
PASS_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"  # one id character per floor pass


@dataclass
class ClientSpec:
    """What one client does. `mode` is one of http_single, http_batch, pg_insert, pg_copy."""

    mode: str
    client: int
    seed: int
    stream: str  # content stream: both arms of a benchmark use the same one
    id_prefix: str  # differs between arms so their rows never collide
    now: float
    open_threads: list[tuple[str, str]]
    author_pool: int
    duration: float = 10.0
    warmup: float = 1.0
    max_items: int = 1_000_000  # requests (single) or batches (batch)
    batch_size: int = 500
    batches: list[int] | None = None  # batch modes: the batch numbers to send, in order
    warmup_batches: int = 1  # batch modes: not measured
    min_seconds: float = 0.0  # pg_copy: repeat the batches (new ids) until the arm lasted this long
    max_passes: int = 1
    host: str = "127.0.0.1"
    port: int = 0
    path: str = "/api/v1/mentions/"
    token: str = ""
    dsn: dict[str, Any] = field(default_factory=dict)
    incident_ids: list[int] = field(default_factory=list)  # pg floors: FK targets like the app's rows
    timeout: float = 60.0


@dataclass
class ClientResult:
    client: int
    mode: str
    measured: int = 0  # requests / statements completed in the measured span
    items: int = 0  # mentions (rows) in those
    latencies: list[float] = field(default_factory=list)
    busy: float = 0.0  # summed request time of the measured ones
    window_start: float = 0.0  # wall clock (time.time) where measuring began
    window_end: float = 0.0
    batches_done: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warmup_count: int = 0


class HttpError(Exception):
    pass


class HttpConnection:
    """A minimal HTTP/1.1 client: sends prepared bytes, reads one response, honours keep-alive."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        if host not in ALLOWED_HOSTS:
            raise ValueError(f"The load generator only targets {ALLOWED_HOSTS}, not {host!r}.")
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.connects = 0

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
                self.buffer = b""

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer = b""
        self.connects += 1

    def request(self, data: bytes) -> tuple[int, bytes]:
        for attempt in range(2):
            fresh = self.sock is None
            if fresh:
                self._connect()
            assert self.sock is not None
            try:
                self.sock.sendall(data)
                status, body, close = self._read_response()
            except (ConnectionError, HttpError):
                self.close()
                if fresh or attempt == 1:
                    raise
                continue  # a kept-alive connection the server had closed: once more on a new one
            if close:
                self.close()
            return status, body
        raise HttpError("unreachable")

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise HttpError("connection closed by server")
        return chunk

    def _read_response(self) -> tuple[int, bytes, bool]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise HttpError(f"bad status line {lines[0][:80]!r}")
        status = int(parts[1])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get(b"connection", b"").lower() == b"close" or parts[0] == b"HTTP/1.0"
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                rest += self._recv()
            body, self.buffer = rest[:length], rest[length:]
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, self.buffer = self._read_chunked(rest)
        else:
            chunks = [rest]
            try:
                while True:
                    chunks.append(self._recv())
            except HttpError:
                pass
            body, self.buffer, close = b"".join(chunks), b"", True
        return status, body, close

    def _read_chunked(self, data: bytes) -> tuple[bytes, bytes]:
        body = b""
        while True:
            while b"\r\n" not in data:
                data += self._recv()
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self._recv()
            body += data[:size]
            data = data[size + 2 :]
            if size == 0:
                return body, data


def http_request(spec: ClientSpec, body: bytes) -> bytes:
    head = (
        f"POST {spec.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n"
        f"Authorization: Token {spec.token}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


# --- what each mode sends ---


def single_payloads(spec: ClientSpec) -> Iterator[tuple[dict[str, Any], str]]:
    rng = synth.stream_rng(spec.seed, f"{spec.stream}-c{spec.client}", 0)
    for n in range(spec.max_items):
        yield synth.bench_mention(
            rng, f"{spec.id_prefix}c{spec.client:02d}{n:08d}", spec.now, spec.open_threads, spec.author_pool
        )


def batch_of(spec: ClientSpec, index: int) -> list[tuple[dict[str, Any], str]]:
    return synth.batch_payloads(
        spec.seed,
        spec.stream,
        index,
        spec.batch_size,
        spec.id_prefix,
        spec.now,
        spec.open_threads,
        spec.author_pool,
    )


def copy_text(spec: ClientSpec, batch: list[tuple[dict[str, Any], str]], index: int) -> bytes:
    received = now_iso()
    ids = spec.incident_ids
    lines = [
        synth.mention_copy_line(
            synth.mention_row(payload, sentiment, ids[(index * 7919 + n) % len(ids)], received)
        )
        for n, (payload, sentiment) in enumerate(batch)
    ]
    return "".join(lines).encode()


# --- the clients ---


def _tally(result: ClientResult, key: str, bucket: str = "statuses") -> None:
    counter = getattr(result, bucket)
    counter[key] = counter.get(key, 0) + 1


def run_client(
    spec: ClientSpec, ready: Callable[[], None] | None = None, go: Callable[[], None] | None = None
) -> ClientResult:
    """Prepares, signals `ready`, waits for `go`, then runs the closed loop and returns its figures."""
    if spec.mode in ("http_single", "http_batch"):
        return _run_http(spec, ready, go)
    return _run_pg(spec, ready, go)


def _prepared_batches(
    spec: ClientSpec, render: Callable[[list[tuple[dict[str, Any], str]], int], bytes]
) -> list[tuple[int, bytes]]:
    indexes = (spec.batches or [])[: spec.max_items]
    return [(index, render(batch_of(spec, index), index)) for index in indexes]


def _record_sample(result: ClientResult, elapsed: float, *, items: int, measured: bool) -> None:
    """One answered request: a measured sample, or a warm-up one that only counts."""
    if not measured:
        result.warmup_count += 1
        return
    result.measured += 1
    result.items += items
    result.latencies.append(elapsed)
    result.busy += elapsed
    result.window_end = time.time()


def _run_http(
    spec: ClientSpec, ready: Callable[[], None] | None, go: Callable[[], None] | None
) -> ClientResult:
    result = ClientResult(client=spec.client, mode=spec.mode)
    conn = HttpConnection(spec.host, spec.port, spec.timeout)
    if spec.mode == "http_batch":
        prepared = _prepared_batches(
            spec,
            lambda batch, _i: http_request(
                spec, json.dumps([p for p, _ in batch], separators=(",", ":")).encode()
            ),
        )
    if ready:
        ready()
    if go:
        go()
    begin = time.time()
    warm_end = begin + spec.warmup
    end = warm_end + spec.duration
    result.window_start = warm_end
    if spec.mode == "http_batch":
        result.window_start = 0.0
        for position, (index, data) in enumerate(prepared):
            if time.time() >= end:
                break
            measured = position >= spec.warmup_batches
            if measured and not result.window_start:
                result.window_start = time.time()
            started = time.perf_counter()
            try:
                status, body = conn.request(data)
            except (OSError, HttpError) as exc:
                result.errors.append(f"batch {index}: {type(exc).__name__}: {exc}"[:300])
                if len(result.errors) > 20:
                    break
                continue
            elapsed = time.perf_counter() - started
            _tally(result, str(status))
            result.batches_done.append(index)
            if status != 200:
                result.errors.append(f"batch {index}: HTTP {status}: {body[:200]!r}")
                continue
            answer = json.loads(body)
            for key in ("created", "duplicate", "invalid"):
                result.outcomes[key] = result.outcomes.get(key, 0) + int(answer.get(key, 0))
            _record_sample(result, elapsed, items=spec.batch_size, measured=measured)
        conn.close()
        return result
    # http_single: bodies are built between requests, outside the timed span.
    for payload, _ in single_payloads(spec):
        now = time.time()
        if now >= end:
            break
        data = http_request(spec, json.dumps(payload, separators=(",", ":")).encode())
        started = time.perf_counter()
        try:
            status, body = conn.request(data)
        except (OSError, HttpError) as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            if len(result.errors) > 50:
                break
            continue
        elapsed = time.perf_counter() - started
        _tally(result, str(status))
        if status not in (200, 201):
            if len(result.errors) < 20:
                result.errors.append(f"HTTP {status}: {body[:200]!r}")
            continue
        _record_sample(result, elapsed, items=1, measured=now >= warm_end)
        if now >= warm_end:
            _tally(result, "created" if status == 201 else "duplicate", "outcomes")
    result.outcomes["connects"] = conn.connects
    conn.close()
    return result


def _run_pg(
    spec: ClientSpec, ready: Callable[[], None] | None, go: Callable[[], None] | None
) -> ClientResult:
    import io

    import psycopg2

    result = ClientResult(client=spec.client, mode=spec.mode)
    conn = psycopg2.connect(connect_timeout=5, **spec.dsn)
    conn.autocommit = True  # one statement (or one COPY) = one transaction, like the app's request
    cur = conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'")
    try:
        if spec.mode == "pg_copy":
            # Pass 0 copies exactly the app arm's batches; further passes (same rows, another id
            # prefix of the same length) run until the arm has lasted `min_seconds`.
            base = spec.id_prefix + PASS_CHARS[0]
            prepared = _prepared_batches(
                replace(spec, id_prefix=base), lambda batch, index: copy_text(spec, batch, index)
            )
            if ready:
                ready()
            if go:
                go()
            deadline = time.time() + spec.min_seconds + spec.timeout * max(1, len(prepared))
            position = 0
            for pass_no in range(min(spec.max_passes, len(PASS_CHARS))):
                old, new = base.encode(), (spec.id_prefix + PASS_CHARS[pass_no]).encode()
                for index, first_pass_data in prepared:
                    if time.time() >= deadline:
                        result.errors.append("timeout")
                        return result
                    data = first_pass_data.replace(old, new) if pass_no else first_pass_data
                    measured = position >= spec.warmup_batches
                    position += 1
                    if measured and not result.window_start:
                        result.window_start = time.time()
                    started = time.perf_counter()
                    cur.copy_expert(MENTION_COPY, io.BytesIO(data), size=1 << 20)
                    elapsed = time.perf_counter() - started
                    if pass_no == 0:
                        result.batches_done.append(index)
                    if measured:
                        result.measured += 1
                        result.items += cur.rowcount
                        result.latencies.append(elapsed)
                        result.busy += elapsed
                        result.window_end = time.time()
                    else:
                        result.warmup_count += 1
                if result.window_start and time.time() - result.window_start >= spec.min_seconds:
                    break
            result.outcomes["passes"] = pass_no + 1
            return result
        # pg_insert: the app's single-row INSERT ... ON CONFLICT, autocommit.
        if ready:
            ready()
        if go:
            go()
        begin = time.time()
        warm_end = begin + spec.warmup
        end = warm_end + spec.duration
        result.window_start = warm_end
        ids = spec.incident_ids
        for n, (payload, sentiment) in enumerate(single_payloads(spec)):
            now = time.time()
            if now >= end:
                break
            row = synth.mention_row(payload, sentiment, ids[n % len(ids)], now_iso())
            started = time.perf_counter()
            cur.execute(MENTION_INSERT, row)
            cur.fetchall()
            elapsed = time.perf_counter() - started
            if now >= warm_end:
                result.measured += 1
                result.items += 1
                result.latencies.append(elapsed)
                result.busy += elapsed
                result.window_end = time.time()
            else:
                result.warmup_count += 1
        return result
    finally:
        cur.close()
        conn.close()


# --- running N clients in processes ---


def _process_main(spec: ClientSpec, ready_q: Any, go_event: Any, result_q: Any) -> None:
    try:
        result = run_client(spec, ready=lambda: ready_q.put(spec.client), go=lambda: go_event.wait(600))
    except BaseException as exc:
        ready_q.put(spec.client)
        result = ClientResult(
            client=spec.client, mode=spec.mode, errors=[f"{type(exc).__name__}: {exc}"[:500]]
        )
    result_q.put(result)


def run_clients(specs: list[ClientSpec], *, prepare_timeout: float = 300.0) -> list[ClientResult]:
    """Starts one process per client, waits until all have prepared, starts them together and collects
    their results. Processes that overrun are terminated (by their own handle, never by name)."""
    ctx = mp.get_context("spawn")
    ready_q = ctx.Queue()
    result_q = ctx.Queue()
    go_event = ctx.Event()
    procs = [
        ctx.Process(target=_process_main, args=(s, ready_q, go_event, result_q), daemon=True) for s in specs
    ]
    results: list[ClientResult] = []
    try:
        for proc in procs:
            proc.start()
        deadline = time.time() + prepare_timeout
        for _ in procs:
            ready_q.get(timeout=max(1.0, deadline - time.time()))
        go_event.set()
        budget = max(s.warmup + s.duration for s in specs) + max(s.timeout for s in specs) * 2 + 60
        if any(s.mode == "pg_copy" for s in specs):
            budget += 600
        deadline = time.time() + budget
        while len(results) < len(procs):
            try:
                results.append(result_q.get(timeout=max(1.0, deadline - time.time())))
            except queue.Empty:
                break
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    if len(results) < len(procs):
        raise RuntimeError(f"only {len(results)} of {len(procs)} load clients reported back")
    return sorted(results, key=lambda r: r.client)
