# Firebreak: one image for every process (web, Celery worker, Celery beat, migrations).
# Build:  docker build -t firebreak:latest .      (or `docker compose build`)
# Run:    see docker-compose.yml; SECRET_KEY, DATABASE_URL and REDIS_URL come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# An unprivileged account with a fixed numeric id, so orchestrators can verify "runs as non-root".
RUN groupadd --system --gid 10001 firebreak \
    && useradd --system --uid 10001 --gid firebreak --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin firebreak

WORKDIR /app

# Dependencies first, in their own layer, so code changes do not reinstall them. Every package is
# pinned and hash-checked. The lock also carries the dev tools (pytest, mypy, playwright's Python
# package, no browsers): a larger image, but exactly the pinned set CI installs and tests.
COPY requirements.lock ./
RUN pip install --root-user-action=ignore --require-hashes -r requirements.lock

# The application, owned by root and read-only for the process that runs it.
COPY . .
RUN python -m compileall -q .

# Static files are collected into the image (served by WhiteNoise). Production settings refuse to load
# without SECRET_KEY, so this one command gets a throwaway value that never reaches the image's
# environment; the real key is supplied at run time.
RUN SECRET_KEY=build-only-collectstatic-dummy-key-not-used-at-runtime-9f3Kq7Zx2LmW8vB \
    python manage.py collectstatic --noinput --verbosity 1

USER 10001:10001

EXPOSE 8000

# Standard library only: the slim image has no curl. See docker/healthcheck.py for why it sets headers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# exec: gunicorn replaces the shell, so `docker stop`'s SIGTERM reaches it and it shuts down gracefully.
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --worker-tmp-dir /dev/shm --access-logfile - --graceful-timeout 20 --timeout ${WEB_TIMEOUT:-120}"]
