"""Reads of the response plan: a user's roles, categories, triage rules, tokens."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet

from config.prepared import Prepared
from protocols.models import ApiToken, Category, RoleAssignment, TriageRule

_ROLES_ATTR = "_firebreak_roles"


def user_roles(*, user: Any) -> frozenset[str]:
    """The roles a user holds, read once per user object (so once per request)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLES_ATTR, None)
    if cached is None:
        cached = frozenset(RoleAssignment.objects.filter(user_id=user.pk).values_list("role", flat=True))
        setattr(user, _ROLES_ATTR, cached)
    return cached


def forget_user_roles(*, user: Any) -> None:
    if hasattr(user, _ROLES_ATTR):
        delattr(user, _ROLES_ATTR)


def category_list(*, include_inactive: bool = False) -> QuerySet[Category]:
    qs = Category.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


# Every intake request needs the rules; they change rarely. A digest of the whole (small) table is
# checked on each call, so any change, however it is made, is seen by the next request.
_RULES_DIGEST_SQL = Prepared(
    "fb_rules_digest",
    (),
    "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM protocols_triagerule r",
)
_rules_cache: tuple[str, list[TriageRule]] | None = None


def triage_rule_list_active() -> list[TriageRule]:
    global _rules_cache
    with connection.cursor() as cursor:
        _RULES_DIGEST_SQL.execute(cursor, ())
        (digest,) = cursor.fetchone()
    cached = _rules_cache
    if cached is not None and cached[0] == digest:
        return cached[1]
    rules = list(TriageRule.objects.filter(is_active=True).order_by("position", "id"))
    _rules_cache = (digest, rules)
    return rules


def api_token_list(*, user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")


def api_token_get_own(*, user: Any, token_id: int) -> ApiToken | None:
    """One of the user's own tokens; another user's token reads as missing."""
    return ApiToken.objects.filter(user_id=user.pk, pk=token_id).first()


_TOKEN_COLUMNS = [f.column for f in ApiToken._meta.concrete_fields]
_USER_COLUMNS = [f.column for f in get_user_model()._meta.concrete_fields]
# Built from model metadata only (no outside input).
_TOKEN_WITH_USER_SQL = Prepared(
    "fb_token_lookup",
    ("text",),
    "SELECT "  # noqa: S608
    + ", ".join(f't."{c}"' for c in _TOKEN_COLUMNS)
    + ", "
    + ", ".join(f'u."{c}"' for c in _USER_COLUMNS)
    + ", ARRAY(SELECT r.role FROM protocols_roleassignment r WHERE r.user_id = u.id) "  # noqa: S608
    f"FROM {ApiToken._meta.db_table} t JOIN {get_user_model()._meta.db_table} u ON u.id = t.user_id "
    "WHERE t.digest = %s",
)


def api_token_by_digest(*, digest: str) -> ApiToken | None:
    """The token with its user and the user's roles, in one prepared statement: every API request
    starts here, so it must cost one round trip and no planning."""
    User = get_user_model()
    with connection.cursor() as cursor:
        _TOKEN_WITH_USER_SQL.execute(cursor, (digest,))
        row = cursor.fetchone()
    if row is None:
        return None
    token_values = row[: len(_TOKEN_COLUMNS)]
    user_values = row[len(_TOKEN_COLUMNS) : len(_TOKEN_COLUMNS) + len(_USER_COLUMNS)]
    token = ApiToken.from_db("default", [f.attname for f in ApiToken._meta.concrete_fields], token_values)
    user = User.from_db("default", [f.attname for f in User._meta.concrete_fields], user_values)
    setattr(user, _ROLES_ATTR, frozenset(row[-1]))
    token.user = user
    return token
