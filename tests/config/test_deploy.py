"""The deployment files do what the README promises.

* docker-compose.yml is valid against the Compose Specification schema (the one check-jsonschema
  ships), and a broken file is rejected by the same validator;
* the topology behaves as documented: every app container gets the same settings, workers scale,
  the web app waits for migrations, the required secrets really are required, and the environment
  compose hands the containers loads the production settings;
* production settings pass `manage.py check --deploy` and refuse to start without SECRET_KEY;
* the Dockerfile installs hash-checked dependencies and runs as a non-root user, and its health
  check reports a healthy production server as healthy.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"
APP_SERVICES = {"migrate", "web", "worker", "clock", "beat", "demo"}
# Long, varied and without Django's "django-insecure-" prefix, so security.W009 stays quiet.
STRONG_SECRET_KEY = "kQ8#vZp2!xR7mW4@nL9$tB3^cF6&hJ1*gD5(sY0)eU8-aK2+oI7=rT4~Lw"


# --- helpers -------------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    source = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return schema


def compose_errors(document: Any) -> list[str]:
    """Every schema violation in a parsed compose file, as 'path: message'."""
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = validator_class(schema).iter_errors(document)
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}" for error in errors
    )


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return document


class MissingVariable(ValueError):
    pass


_REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?", re.DOTALL)


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """Resolve `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$` the way
    Compose does, so tests can see what the containers would actually receive."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return environ.get(match["named"], "")
        braced = _BRACED.fullmatch(match["braced"])
        if braced is None:
            raise ValueError(f"unsupported interpolation ${{{match['braced']}}}")
        name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        current = environ.get(name)
        if op is None:
            return current or ""
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        missing = not current if op == ":?" else current is None
        if missing:
            raise MissingVariable(f"{name}: {arg}")
        return current or ""

    return _REFERENCE.sub(replace, value)


def app_services(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the Firebreak image (built from this repository's Dockerfile)."""
    return {name: service for name, service in document["services"].items() if "build" in service}


def settings_env_names() -> set[str]:
    """Every variable config/settings reads, so subprocesses start from a clean slate."""
    names: set[str] = {"DJANGO_SETTINGS_MODULE"}
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names.update(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def clean_env(**overrides: str) -> dict[str, str]:
    names = settings_env_names()
    env = {key: value for key, value in os.environ.items() if key not in names}
    env.update(overrides)
    return env


def run_manage(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends inside a line continuation"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in logical]


# --- the compose file is valid, and the validator can say no ---------------------------------------


def test_compose_file_matches_the_compose_specification() -> None:
    document = load_compose()

    assert compose_errors(document) == []
    assert "version" not in document, "the Compose Specification has no `version:`; Compose warns about it"


@pytest.mark.parametrize(
    ("service", "mutate", "expected"),
    [
        ("web", lambda s: s.update(ports="8000"), "ports"),
        ("worker", lambda s: s.update(replicas=3), "replicas"),
        ("web", lambda s: s["depends_on"]["migrate"].update(condition="service_completed"), "depends_on"),
        ("postgres", lambda s: s["healthcheck"].update(command="pg_isready"), "command"),
    ],
    ids=["ports-as-string", "unknown-service-key", "bad-depends-on-condition", "unknown-healthcheck-key"],
)
def test_a_broken_compose_file_is_rejected(service: str, mutate: Any, expected: str) -> None:
    document = copy.deepcopy(load_compose())
    mutate(document["services"][service])

    errors = compose_errors(document)

    assert errors, f"the validator accepted a broken {service} service"
    mine = [error for error in errors if error.startswith(f"services/{service}")]
    assert mine, errors
    assert any(expected in error for error in mine), mine


# --- the topology behaves as documented ----------------------------------------------------------


def test_every_app_container_gets_the_same_settings() -> None:
    document = load_compose()
    shared = document["x-app-env"]
    services = app_services(document)

    assert set(services) == APP_SERVICES
    assert {service["image"] for service in services.values()} == {document["x-app"]["image"]}
    for name, service in services.items():
        environment = service["environment"]
        differing = {key for key, value in shared.items() if environment.get(key) != value}
        assert not differing, f"{name} does not get the shared x-app-env values for {sorted(differing)}"
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_workers_scale_with_docker_compose_up_scale() -> None:
    worker = load_compose()["services"]["worker"]

    # A fixed container name or a published host port would make a second worker fail to start.
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"][:4] == ["celery", "-A", "config", "worker"]


def test_worker_health_check_asks_its_own_node() -> None:
    worker = interpolate(load_compose()["services"]["worker"], {"SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"})

    # `$$` reaches the container as `$`, so the container's shell expands its own hostname;
    # a single `$` would be replaced by the host's HOSTNAME when compose reads the file.
    test = worker["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "celery -A config inspect ping --destination celery@$HOSTNAME" in test[1]


def test_web_starts_after_migrations_succeed_and_reports_its_health() -> None:
    services = load_compose()["services"]
    web, migrate = services["web"], services["migrate"]

    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert web["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert migrate["restart"] == "no"
    assert "8000:8000" in web["ports"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]
    assert HEALTHCHECK_SCRIPT.is_file()
    for name in ("worker", "demo"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_data_lives_in_named_volumes() -> None:
    document = load_compose()
    declared = set(document["volumes"])

    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = dict(volume.split(":", 1) for volume in document["services"][name]["volumes"])
        assert path in mounts.values(), f"{name} keeps its data outside a volume"
        assert {source for source, target in mounts.items() if target == path} <= declared


def test_demo_data_is_opt_in() -> None:
    demo = load_compose()["services"]["demo"]

    assert demo["profiles"] == ["demo"]
    assert demo["command"] == ["python", "manage.py", "seed_demo"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "POSTGRES_PASSWORD"])
def test_compose_refuses_to_start_without_the_secrets(missing: str) -> None:
    environ = {"SECRET_KEY": STRONG_SECRET_KEY, "POSTGRES_PASSWORD": "s3cret"}
    del environ[missing]

    with pytest.raises(MissingVariable, match=missing):
        interpolate(load_compose(), environ)
    with pytest.raises(MissingVariable, match=missing):
        interpolate(load_compose(), {**environ, missing: ""})


def test_the_compose_environment_loads_production_settings() -> None:
    document = interpolate(load_compose(), {"SECRET_KEY": STRONG_SECRET_KEY, "POSTGRES_PASSWORD": "s3cret"})
    container_env = {key: str(value) for key, value in document["services"]["web"]["environment"].items()}
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'ssl_redirect': s.SECURE_SSL_REDIRECT, 'hosts': s.ALLOWED_HOSTS,"
        "'csrf': s.CSRF_TRUSTED_ORIGINS, 'db': {k: s.DATABASES['default'][k] for k in"
        " ('HOST', 'PORT', 'NAME', 'USER', 'PASSWORD')}, 'cache': s.CACHES['default']['LOCATION'],"
        "'broker': s.CELERY_BROKER_URL, 'email': s.EMAIL_BACKEND, 'secret': s.SECRET_KEY}))"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **container_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded == {
        "debug": False,
        "ssl_redirect": False,  # no TLS terminator in the compose topology; see the file's header
        "hosts": ["localhost", "127.0.0.1"],
        "csrf": [],
        "db": {
            "HOST": "postgres",
            "PORT": 5432,
            "NAME": "firebreak",
            "USER": "firebreak",
            "PASSWORD": "s3cret",
        },
        "cache": "redis://redis:6379/0",
        "broker": "redis://redis:6379/0",
        "email": "django.core.mail.backends.console.EmailBackend",
        "secret": STRONG_SECRET_KEY,
    }


# --- production settings -------------------------------------------------------------------------


def test_production_settings_pass_the_deployment_checks() -> None:
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=STRONG_SECRET_KEY)

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checks_can_fail() -> None:
    # The compose default (no TLS in front) is a deliberate, documented exception to the checks.
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=STRONG_SECRET_KEY,
        SECURE_SSL_REDIRECT="false",
    )

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


@pytest.mark.parametrize("secret", [None, ""], ids=["unset", "empty"])
def test_production_settings_refuse_to_start_without_a_secret_key(secret: str | None) -> None:
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.production")
    if secret is not None:
        env["SECRET_KEY"] = secret

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


# --- the image -----------------------------------------------------------------------------------


def test_image_installs_hash_checked_dependencies_and_runs_as_non_root() -> None:
    instructions = dockerfile_instructions()
    runs = [args for instruction, args in instructions if instruction == "RUN"]
    users = [args for instruction, args in instructions if instruction == "USER"]

    assert ("FROM", "python:3.11-slim") in instructions
    assert any("pip install" in run and "--require-hashes -r requirements.lock" in run for run in runs)
    assert users, "the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    environment = " ".join(args for instruction, args in instructions if instruction == "ENV").split()
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in environment


def test_the_build_time_secret_key_never_reaches_the_image_environment() -> None:
    instructions = dockerfile_instructions()
    collectstatic = [args for instruction, args in instructions if "collectstatic" in args]

    assert len(collectstatic) == 1
    assert collectstatic[0].startswith("SECRET_KEY=")
    for instruction, args in instructions:
        if instruction in {"ENV", "ARG"}:
            assert "SECRET_KEY" not in args, f"{instruction} {args} would bake a SECRET_KEY into the image"


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}

    assert {".env", ".git", ".venv"} <= ignored
    assert not {"requirements.lock", "config", "manage.py", "docker"} & ignored


# --- the container health check ------------------------------------------------------------------


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("firebreak_docker_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        (None, "localhost"),
        ("", "localhost"),
        ("*", "localhost"),
        ("firebreak.example.com", "firebreak.example.com"),
        (" .example.com , other.example.com", "example.com"),
    ],
)
def test_health_check_names_a_host_django_accepts(allowed_hosts: str | None, expected: str) -> None:
    assert load_healthcheck().host_header(allowed_hosts) == expected


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def production_server(django_db_setup: Any) -> Iterator[str]:
    """gunicorn serving production settings (SSL redirect on, one allowed host) like the image does,
    on the migrated test database (health includes the SLA engine, which reads its tables)."""
    db = settings.DATABASES["default"]
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    port = free_port()
    host = db["HOST"] or "127.0.0.1"
    test_database = connection.settings_dict["NAME"]
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=STRONG_SECRET_KEY,
        DATABASE_URL=f"postgres://{credentials}{host}:{db['PORT'] or 5432}/{test_database}",
        REDIS_URL=settings.REDIS_URL,
        ALLOWED_HOSTS="firebreak.example.com",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    output = server.communicate()[0]
                    pytest.fail(f"gunicorn did not start:\n{output}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/healthz"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.django_db
def test_health_check_passes_against_a_healthy_production_server(
    production_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    healthcheck = load_healthcheck()
    monkeypatch.setattr(healthcheck, "URL", production_server)
    monkeypatch.setenv("ALLOWED_HOSTS", "firebreak.example.com")

    assert healthcheck.main() == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["status"], body["database"], body["redis"], body["sla"]["state"]) == ("ok", "ok", "ok", "ok")

    # The same server refuses a Host outside ALLOWED_HOSTS: the check reports that as unhealthy.
    monkeypatch.setenv("ALLOWED_HOSTS", "elsewhere.example.com")
    assert healthcheck.main() == 1
    assert "HTTP 400" in capsys.readouterr().err


def test_health_check_fails_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    healthcheck = load_healthcheck()
    monkeypatch.setattr(healthcheck, "URL", f"http://127.0.0.1:{free_port()}/healthz")

    assert healthcheck.main() == 1


@pytest.mark.django_db
def test_production_pages_carry_the_security_headers(production_server: str) -> None:
    """Under gunicorn with the production settings, behind a proxy that speaks HTTPS: a script or style
    can only come from our own static files, nothing may frame the app, and browsers keep to HTTPS.
    (Every response gets them from the middleware; the pages themselves are checked in Chromium, where
    any refusal of the policy fails the browser tests.)"""
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        production_server,
        headers={"Host": "firebreak.example.com", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        headers = response.headers
    directives = [d.split(" ", 1) for d in headers["Content-Security-Policy"].split("; ")]
    policy = {name: value for name, value in directives}
    assert policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == policy["frame-ancestors"] == "'none'"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
