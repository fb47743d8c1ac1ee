"""The bench's own environment: its database and Redis, Django settings, versions and machine facts.

The bench never reads DATABASE_URL (which may point at a developer's database): it uses
BENCH_DATABASE_URL or `--database-url`, defaulting to `firebreak_bench` (`firebreak_bench_quick` for
--quick, so a smoke run never replaces the reference dataset), and refuses the app's own
database, the maintenance databases and anything that looks like a test database. It then exports
DATABASE_URL/REDIS_URL for Django and for the gunicorn it starts, so both arms hit the same database.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg2
from psycopg2 import sql

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firebreak_bench"
# --quick keeps its small dataset apart, so a smoke run never wipes the reference dataset.
QUICK_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/firebreak_bench_quick"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
DEFAULT_SETTINGS = "config.settings.production"
REFUSED_DATABASES = {"firebreak", "postgres", "template0", "template1", "test"}
RUN_LOCK_NAMESPACE = 7399  # pg_advisory_lock(namespace, 0) held for a whole bench run
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", flush=True)


@dataclass
class BenchEnv:
    database_url: str
    redis_url: str
    settings_module: str
    params: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    _exclusive: Any = field(default=None, repr=False)

    @classmethod
    def configure(
        cls,
        database_url: str | None,
        redis_url: str | None,
        settings_module: str | None,
        *,
        quick: bool = False,
    ) -> BenchEnv:
        default = QUICK_DATABASE_URL if quick else DEFAULT_DATABASE_URL
        url = database_url or os.environ.get("BENCH_DATABASE_URL") or default
        cfg = dj_database_url.parse(url)
        name = cfg["NAME"]
        if name in REFUSED_DATABASES or name.startswith("test_"):
            raise SystemExit(f"Refusing to benchmark in database {name!r}: use a database of its own.")
        redis = redis_url or os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
        env = cls(
            database_url=url,
            redis_url=redis,
            settings_module=settings_module or os.environ.get("BENCH_SETTINGS") or DEFAULT_SETTINGS,
            params={
                "host": cfg.get("HOST") or None,
                "port": cfg.get("PORT") or None,
                "user": cfg.get("USER") or None,
                "password": cfg.get("PASSWORD") or None,
            },
            name=name,
        )
        os.environ.update(env.app_environ())
        return env

    def app_environ(self) -> dict[str, str]:
        """What the app (in process and under gunicorn) runs with: production settings, without the
        HTTPS redirect (the bench speaks plain HTTP on 127.0.0.1) and with a throwaway secret."""
        return {
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
            "SECURE_SSL_REDIRECT": "false",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            # The load comes from one address and token, far above any real client: the limits still
            # count every request (their cost is in the figures) but never refuse one.
            "FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN": "100000000",
            "FIREBREAK_INTAKE_PER_MINUTE_PER_IP": "100000000",
        }

    # --- PostgreSQL ---

    def connect(self, dbname: str | None = None, *, autocommit: bool = True) -> Any:
        conn = psycopg2.connect(dbname=dbname or self.name, connect_timeout=5, **self.params)
        conn.autocommit = autocommit
        return conn

    @contextlib.contextmanager
    def pg(self, dbname: str | None = None) -> Iterator[Any]:
        conn = self.connect(dbname)
        try:
            yield conn
        finally:
            conn.close()

    def dsn(self) -> dict[str, Any]:
        return {"dbname": self.name, **{k: v for k, v in self.params.items() if v is not None}}

    def ensure_database(self) -> bool:
        """Creates the bench database when missing; returns True if it was created."""
        with self.pg("postgres") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,))
            if cur.fetchone() is not None:
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
            return True

    def hold_exclusive(self) -> Any:
        """One run per bench database: a session advisory lock held on a connection of its own until
        the run exits (the database and the bench Redis db are shared state). Returns the connection;
        refuses to start when another run holds it."""
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s, 0)", (RUN_LOCK_NAMESPACE,))
            if not cur.fetchone()[0]:
                conn.close()
                raise SystemExit(
                    f"Another bench run is using {self.name!r} (and Redis {self.redis_url}); wait for it "
                    "to finish: two runs would remove each other's rows and workers' tasks."
                )
        self._exclusive = conn
        return conn

    def recreate_database(self) -> None:
        from django.db import connections

        connections.close_all()
        held = self._exclusive is not None
        if held:
            self._exclusive.close()  # DROP DATABASE needs every session gone; taken again below
            self._exclusive = None
        with self.pg("postgres") as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        if held:
            self.hold_exclusive()

    def vacuum_analyze(self, tables: Iterable[str], *, checkpoint: bool = False) -> None:
        with self.pg() as conn, conn.cursor() as cur:
            for table in tables:
                cur.execute(f"VACUUM (ANALYZE) {table}")
            if checkpoint:
                cur.execute("CHECKPOINT")

    # --- Django ---

    def django_setup(self) -> None:
        import django

        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        django.setup()

    def migrate(self) -> None:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


# --- facts ---


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(env: BenchEnv) -> dict[str, Any]:
    import psycopg2.extensions

    with env.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT version(), current_setting('server_version')")
        pg_full, pg_version = cur.fetchone()
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "python": sys.version.split()[0],
        "python_full": sys.version,
        "django": _version("Django"),
        "djangorestframework": _version("djangorestframework"),
        "psycopg2": psycopg2.__version__.split()[0],
        "libpq": psycopg2.extensions.libpq_version(),
        "gunicorn": _version("gunicorn"),
        "vaderSentiment": _version("vaderSentiment"),
        "postgresql": pg_version,
        "postgresql_full": pg_full,
        "git_commit": commit,
        "git_dirty": bool(dirty),
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def cpu_busy_share(seconds: float = 2.0) -> float:
    """Share of the machine's CPU time spent busy over `seconds` (from /proc/stat); NaN if unknown."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields) - idle, sum(fields)

    try:
        busy0, total0 = sample()
        time.sleep(seconds)
        busy1, total1 = sample()
    except (IndexError, ValueError):
        return float("nan")
    return (busy1 - busy0) / max(1, total1 - total0)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine(env: BenchEnv) -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        None,
    )
    meminfo = {
        line.split(":")[0]: line.split(":")[1].strip()
        for line in _read("/proc/meminfo").splitlines()
        if ":" in line
    }
    mem_kib = int(meminfo.get("MemTotal", "0 kB").split()[0])
    settings_names = [
        "shared_buffers",
        "work_mem",
        "maintenance_work_mem",
        "effective_cache_size",
        "max_connections",
        "synchronous_commit",
        "fsync",
        "wal_level",
        "max_wal_size",
        "autovacuum",
        "random_page_cost",
        "jit",
        "max_parallel_workers_per_gather",
    ]
    with env.pg() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings WHERE name = ANY(%s)",
            (settings_names,),
        )
        pg_settings = dict(cur.fetchall())
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "hostname": platform.node(),
        "loadavg_at_start": list(os.getloadavg()),
        "postgresql_settings": pg_settings,
    }
