"""Settings come from the environment: config/env.py reads typed values and refuses malformed ones by
name, and the settings modules honour DATABASE_URL, REDIS_URL and the lists they are given."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_required, env_str

ROOT = Path(__file__).resolve().parents[2]
VAR = "FIREBREAK_TEST_SETTING"
STRONG_SECRET_KEY = "kQ8#vZp2!xR7mW4@nL9$tB3^cF6&hJ1*gD5(sY0)eU8-aK2+oI7=rT4~Lw"


# --- the readers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "YES", " on "])
def test_env_bool_reads_true(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off"])
def test_env_bool_reads_false(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, True) is False


def test_env_bool_unset_or_empty_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_bool(VAR, True) is True
    monkeypatch.setenv(VAR, "")
    assert env_bool(VAR, False) is False


@pytest.mark.parametrize("raw", ["maybe", "tru", "2", "enabled"])
def test_env_bool_refuses_anything_else_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(ImproperlyConfiguredEnv) as excinfo:
        env_bool(VAR, True)

    assert VAR in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


def test_env_int_reads_integers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "42")
    assert env_int(VAR, 7) == 42
    monkeypatch.setenv(VAR, "-3")
    assert env_int(VAR, 7) == -3
    monkeypatch.setenv(VAR, "")
    assert env_int(VAR, 7) == 7
    monkeypatch.delenv(VAR)
    assert env_int(VAR, 7) == 7


@pytest.mark.parametrize("raw", ["ten", "4.5", "1e3", "60s"])
def test_env_int_refuses_non_integers_by_name(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, raw)

    with pytest.raises(
        ImproperlyConfiguredEnv, match=rf"^{VAR} must be an integer, got {re.escape(repr(raw))}$"
    ):
        env_int(VAR, 7)


def test_env_list_splits_on_commas_and_trims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, " firebreak.example.com,  .example.org ,,localhost, ")
    assert env_list(VAR, ["default"]) == ["firebreak.example.com", ".example.org", "localhost"]
    monkeypatch.setenv(VAR, "single")
    assert env_list(VAR, ["default"]) == ["single"]


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_list_blank_means_the_default(raw: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)
    assert env_list(VAR, ["localhost"]) == ["localhost"]


def test_env_str_and_env_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env_str(VAR, "fallback") == "fallback"
    with pytest.raises(ImproperlyConfiguredEnv, match=f"{VAR} must be set in production"):
        env_required(VAR)
    monkeypatch.setenv(VAR, "")
    with pytest.raises(ImproperlyConfiguredEnv, match=VAR):
        env_required(VAR)
    monkeypatch.setenv(VAR, "value")
    assert env_str(VAR, "fallback") == "value"
    assert env_required(VAR) == "value"


# --- the settings modules honour the environment -------------------------------------------------


def settings_env_names() -> set[str]:
    """Every variable config/settings reads, so a subprocess sees only what a test gives it."""
    names: set[str] = {"DJANGO_SETTINGS_MODULE"}
    for path in (ROOT / "config" / "settings").glob("*.py"):
        names.update(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    names = settings_env_names()
    clean = {key: value for key, value in os.environ.items() if key not in names}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


DUMP_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'db': {k: s.DATABASES['default'][k] for k in ('ENGINE', 'HOST', 'PORT', 'NAME', 'USER', 'PASSWORD')},"
    "'conn_max_age': s.DATABASES['default']['CONN_MAX_AGE'],"
    "'redis': s.REDIS_URL, 'cache': s.CACHES['default']['LOCATION'], 'broker': s.CELERY_BROKER_URL,"
    "'hosts': s.ALLOWED_HOSTS, 'csrf': s.CSRF_TRUSTED_ORIGINS, 'ssl_redirect': s.SECURE_SSL_REDIRECT,"
    "'hsts': s.SECURE_HSTS_SECONDS, 'email': s.EMAIL_BACKEND, 'email_port': s.EMAIL_PORT,"
    "'email_tls': s.EMAIL_USE_TLS}))"
)


def test_production_settings_honour_the_environment() -> None:
    result = run_python(
        DUMP_SETTINGS,
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=STRONG_SECRET_KEY,
        DATABASE_URL="postgres://fb_user:p%40ss@db.internal:6543/fb_prod",
        DATABASE_CONN_MAX_AGE="0",
        REDIS_URL="redis://cache.internal:6380/2",
        ALLOWED_HOSTS="firebreak.example.com, .example.org",
        CSRF_TRUSTED_ORIGINS="https://firebreak.example.com,https://ops.example.org",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="600",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="2525",
        EMAIL_USE_TLS="no",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "db.internal",
            "PORT": 6543,
            "NAME": "fb_prod",
            "USER": "fb_user",
            "PASSWORD": "p@ss",
        },
        "conn_max_age": 0,
        "redis": "redis://cache.internal:6380/2",
        "cache": "redis://cache.internal:6380/2",
        "broker": "redis://cache.internal:6380/2",
        "hosts": ["firebreak.example.com", ".example.org"],
        "csrf": ["https://firebreak.example.com", "https://ops.example.org"],
        "ssl_redirect": False,
        "hsts": 600,
        "email": "django.core.mail.backends.smtp.EmailBackend",
        "email_port": 2525,
        "email_tls": False,
    }


def test_production_settings_default_to_https_and_local_services() -> None:
    result = run_python(
        DUMP_SETTINGS, DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=STRONG_SECRET_KEY
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["ssl_redirect"] is True
    assert loaded["hsts"] == 31536000
    assert loaded["db"]["HOST"] == "127.0.0.1"
    assert loaded["db"]["NAME"] == "firebreak"
    assert loaded["redis"] == loaded["cache"] == loaded["broker"] == "redis://127.0.0.1:6379/0"
    assert loaded["hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert loaded["email"] == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.parametrize(
    ("name", "raw"),
    [("SECURE_SSL_REDIRECT", "ture"), ("DATABASE_CONN_MAX_AGE", "sixty"), ("EMAIL_PORT", "smtp")],
)
def test_a_malformed_variable_stops_start_up_and_names_it(name: str, raw: str) -> None:
    result = run_python(
        "import django; django.setup()",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=STRONG_SECRET_KEY,
        **{name: raw},
    )

    assert result.returncode != 0
    assert f"{name} must be" in result.stderr
    assert repr(raw) in result.stderr
