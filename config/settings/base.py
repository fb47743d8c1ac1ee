"""Settings shared by every environment, read from environment variables.

Defaults are safe for a developer's machine; `production.py` insists on the secrets.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "protocols",
    "incidents",
    "templates_app",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # names the signed-in user (or the API token's) to the database for the audit triggers
    "protocols.audit_actor.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.throttles.LoginRateLimitMiddleware",
    "config.nul_guard.RefuseNulInQueryMiddleware",
    "protocols.middleware.SessionExpiryMiddleware",
    # last, as axes asks: it turns a lockout flagged during the request into the lockout page
    "axes.middleware.AxesMiddleware",
]

# Every page's scripts and styles come from our own static files: no inline script or style, no eval
# (htmx is configured in base.html not to evaluate anything), nothing from another origin, and no
# framing. A policy a page breaks shows in the browser's console and fails the browser tests.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "protocols.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/firebreak"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})
# A request never waits on the database forever: connect fails fast, statements are bounded.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
# Statements prepared by config.prepared run with one generic plan instead of being re-planned.
DATABASES["default"]["OPTIONS"].setdefault("options", "-c plan_cache_mode=force_generic_plan")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "incidents:queue"
LOGOUT_REDIRECT_URL = "login"


# Sign-in lockout (django-axes): this many failures for one username from one IP address, each within
# the lockout time of the one before, lock that combination out for the lockout time. API tokens never
# go through authenticate(), so they are not affected.
FIREBREAK_LOGIN_FAILURES = env_int("FIREBREAK_LOGIN_FAILURES", 5, minimum=1)
FIREBREAK_LOCKOUT_MINUTES = env_int("FIREBREAK_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = FIREBREAK_LOGIN_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=FIREBREAK_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "protocols.sign_in.lockout_response"
AXES_CLIENT_IP_CALLABLE = "protocols.sign_in.client_address"
# Successful sign-ins are not logged by axes (a row per sign-in that nothing reads or prunes).
AXES_DISABLE_ACCESS_LOG = True
# Axes would log every sign-in it checks at INFO; the audit log records sign-ins and lockouts already.
AXES_VERBOSE = False

# Sessions: refused after FIREBREAK_SESSION_IDLE_MINUTES without a request the user made (timed
# refreshes do not count) and FIREBREAK_SESSION_MAX_HOURS after signing in, whatever happened since
# (protocols/middleware.py). HTTPS-only cookies are switched on in production.
FIREBREAK_SESSION_IDLE_MINUTES = env_int("FIREBREAK_SESSION_IDLE_MINUTES", 480, minimum=1)
FIREBREAK_SESSION_MAX_HOURS = env_int("FIREBREAK_SESSION_MAX_HOURS", 24 * 14, minimum=1)
SESSION_COOKIE_AGE = FIREBREAK_SESSION_MAX_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Email: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "firebreak@localhost")
# A hung SMTP server must not hold a delivery worker (and its claimed notifications) forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "protocols.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["incidents.api.permissions.ActionPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Proxies in front of the app whose X-Forwarded-For entries are believed (0: REMOTE_ADDR only, so
    # a client cannot choose its own address for the per-address limits).
    "NUM_PROXIES": env_int("FIREBREAK_TRUSTED_PROXIES", 0),
}


# Rate limits (config/throttles.py), requests per minute; 0 switches one off. A listening tool pushing
# batches of 500 once a second is well inside the intake defaults.
FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN = env_int("FIREBREAK_INTAKE_PER_MINUTE_PER_TOKEN", 1200, minimum=0)
FIREBREAK_INTAKE_PER_MINUTE_PER_IP = env_int("FIREBREAK_INTAKE_PER_MINUTE_PER_IP", 2400, minimum=0)
FIREBREAK_LOGIN_PER_MINUTE_PER_IP = env_int("FIREBREAK_LOGIN_PER_MINUTE_PER_IP", 20, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Firebreak API",
    "DESCRIPTION": (
        "Social media incident response: push mentions in, read and triage incidents. "
        "Authenticate with `Authorization: Token <token>`; every error answers "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "PriorityEnum": "protocols.models.Priority",
        "PlatformEnum": "protocols.models.Platform",
        "SentimentEnum": "protocols.models.Sentiment",
        "RoleEnum": "protocols.models.Role",
        "EscalationTriggerEnum": "protocols.models.EscalationTrigger",
        "ClockKindEnum": "incidents.models.ClockKind",
        "ClockStatusEnum": "incidents.models.ClockStatus",
        "ReplyStateEnum": "incidents.models.ReplyState",
        "PublishStatusEnum": "incidents.models.PublishStatus",
        "DecisionKindEnum": "incidents.models.DecisionKind",
        "ModerationActionKindEnum": "protocols.models.ModerationActionKind",
        "ModerationOutcomeEnum": "incidents.models.ModerationOutcome",
        "SurveyStateEnum": "incidents.models.SurveyState",
        "SurveyLanguageEnum": "incidents.models.SurveyLanguage",
        "WebhookEventEnum": "incidents.models.WebhookEvent",
        "DeliveryStateEnum": "incidents.models.DeliveryState",
        "TemplateKindEnum": "templates_app.models.TemplateKind",
        "TemplateStatusEnum": "templates_app.models.TemplateStatus",
        "FaqKindEnum": "templates_app.models.FaqKind",
        "AccessAuditActionEnum": "protocols.models.AccessAuditAction",
        "EscalationActionEnum": "protocols.models.EscalationAction",
        "ReviewKindEnum": "protocols.models.ReviewKind",
        "ReviewEventKindEnum": "protocols.models.ReviewEventKind",
        "ReviewStateEnum": "protocols.review_selectors.ReviewState.CHOICES",
        "PirStateEnum": "protocols.models.PirState",
        "PirTargetOutcomeEnum": "protocols.pir_metrics.Outcome.CHOICES",
        "AuditKindEnum": "protocols.models.AuditKind",
        "AuditActionEnum": "protocols.models.AuditAction",
    },
}

# Intake limits (documented in the README).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MiB request bodies
FIREBREAK_MENTION_TEXT_MAX = env_int("FIREBREAK_MENTION_TEXT_MAX", 10_000)
FIREBREAK_MENTION_BATCH_MAX = 500
FIREBREAK_WEBHOOK_MAX_AGE_SECONDS = env_int("FIREBREAK_WEBHOOK_MAX_AGE_SECONDS", 300)
FIREBREAK_AUTO_CLOSE_AFTER_HOURS = env_int("FIREBREAK_AUTO_CLOSE_AFTER_HOURS", 168)
FIREBREAK_QUEUE_REFRESH_SECONDS = env_int("FIREBREAK_QUEUE_REFRESH_SECONDS", 15)
# The largest screenshot one evidence capture accepts, in bytes (5 MiB).
FIREBREAK_EVIDENCE_MAX_BYTES = env_int("FIREBREAK_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)
# Customer-satisfaction surveys: how long a survey link works, and the brand name its page shows the
# customer (nothing else of the team's is shown there; empty: no name).
FIREBREAK_SURVEY_EXPIRY_DAYS = env_int("FIREBREAK_SURVEY_EXPIRY_DAYS", 14, minimum=1)
FIREBREAK_BRAND_NAME = env_str("FIREBREAK_BRAND_NAME", "")
# The SLA sweeper: how many due clocks one transaction claims, and how late a due moment may be
# before /healthz reports the engine as unhealthy.
FIREBREAK_SLA_SWEEP_BATCH = env_int("FIREBREAK_SLA_SWEEP_BATCH", 500)
# How many sweeps may run at once across all workers (each claims different clocks: SKIP LOCKED).
FIREBREAK_SLA_SWEEPERS = env_int("FIREBREAK_SLA_SWEEPERS", 2)
FIREBREAK_SLA_MAX_LAG_SECONDS = env_int("FIREBREAK_SLA_MAX_LAG_SECONDS", 60)

# Notifications (documented in the README). Links in email and chat messages need the public address; a
# failed delivery is retried after base * 2**attempts seconds (at most the cap) until the last attempt.
FIREBREAK_BASE_URL = env_str("FIREBREAK_BASE_URL", "http://localhost:8000")
FIREBREAK_NOTIFY_RETRY_BASE_SECONDS = env_int("FIREBREAK_NOTIFY_RETRY_BASE_SECONDS", 30)
FIREBREAK_NOTIFY_RETRY_CAP_SECONDS = env_int("FIREBREAK_NOTIFY_RETRY_CAP_SECONDS", 3600)
FIREBREAK_NOTIFY_MAX_ATTEMPTS = env_int("FIREBREAK_NOTIFY_MAX_ATTEMPTS", 8)
# One sweep sending an audience more than this many warnings, breaches or escalation steps sends one
# digest instead (0: never).
FIREBREAK_NOTIFY_DIGEST_AFTER = env_int("FIREBREAK_NOTIFY_DIGEST_AFTER", 10)
FIREBREAK_WEBHOOK_TIMEOUT_SECONDS = env_int("FIREBREAK_WEBHOOK_TIMEOUT_SECONDS", 5)
# Outbound webhooks to integrators (documented in the README): a delivery that failed is retried after
# base * 2**attempts seconds (with jitter, at most the cap, or the receiver's Retry-After) until the last
# attempt. Plain http targets are refused unless the host is this machine or FIREBREAK_OUTBOUND_ALLOW_HTTP.
FIREBREAK_OUTBOUND_RETRY_BASE_SECONDS = env_int("FIREBREAK_OUTBOUND_RETRY_BASE_SECONDS", 30)
FIREBREAK_OUTBOUND_RETRY_CAP_SECONDS = env_int("FIREBREAK_OUTBOUND_RETRY_CAP_SECONDS", 3600)
FIREBREAK_OUTBOUND_MAX_ATTEMPTS = env_int("FIREBREAK_OUTBOUND_MAX_ATTEMPTS", 10)
FIREBREAK_OUTBOUND_ALLOW_HTTP = env_bool("FIREBREAK_OUTBOUND_ALLOW_HTTP", False)

# Celery: JSON only, late acks so a killed worker's task is redelivered, bounded everything.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The SLA tasks have their own queue and worker (Procfile/compose "clock"), so a backlog of
# notification deliveries can never delay a deadline.
CELERY_TASK_ROUTES = {
    "incidents.tasks.sla_tick": {"queue": "sla"},
    "incidents.tasks.sla_audit": {"queue": "sla"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
