"""Which tables the audit log watches (a PostgreSQL trigger on each writes one row per changed row) and
which it leaves out on purpose. tests/protocols/test_audit.py fails when a model of protocols or
templates_app is in neither list, or when the database's triggers differ from AUDITED."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Audited:
    # Columns whose values are never copied: the row says that they changed, not what to.
    secrets: tuple[str, ...] = ()
    # Columns whose changes are bookkeeping, not configuration; an update touching only these is no row.
    ignored: tuple[str, ...] = ()


PLAIN = Audited()
TIMESTAMPED = Audited(ignored=("updated_at",))

AUDITED: dict[str, Audited] = {
    # users, their groups and permissions, roles, credentials
    "auth_user": Audited(secrets=("password",), ignored=("last_login",)),
    "auth_group": PLAIN,
    "auth_group_permissions": PLAIN,
    "auth_user_groups": PLAIN,
    "auth_user_user_permissions": PLAIN,
    "protocols_roleassignment": PLAIN,
    "protocols_apitoken": Audited(secrets=("digest",), ignored=("last_used_at",)),
    "protocols_intakesource": Audited(secrets=("secret",)),
    "protocols_socialaccount": Audited(
        secrets=("webhook_secret", "mastodon_access_token"), ignored=("updated_at",)
    ),
    "protocols_socialaccountaccess": PLAIN,
    # integrators' outbound webhook subscriptions (incidents app): where events go, signed with the secret
    "incidents_webhooksubscription": Audited(secrets=("secret",), ignored=("failing_since", "last_error")),
    # a Slack or Teams incoming-webhook URL is itself the credential
    "protocols_webhookendpoint": Audited(secrets=("url",), ignored=("failing_since", "last_error")),
    # the response plan
    "protocols_category": PLAIN,
    "protocols_checklistquestion": PLAIN,
    "protocols_triagerule": PLAIN,
    "protocols_businesscalendar": TIMESTAMPED,
    "protocols_openinghours": PLAIN,
    "protocols_holiday": PLAIN,
    "protocols_escalationchain": TIMESTAMPED,
    "protocols_escalationstep": PLAIN,
    "protocols_slapolicy": TIMESTAMPED,
    "protocols_approvalchain": TIMESTAMPED,
    "protocols_approvalstep": PLAIN,
    "protocols_approvalrule": TIMESTAMPED,
    "protocols_moderationrule": PLAIN,
    "protocols_spikesettings": PLAIN,
    "protocols_reviewschedule": Audited(ignored=("reminded_for",)),
    # templates, FAQs, talking points and brand guidelines
    "templates_app_responsetemplate": TIMESTAMPED,
    "templates_app_responsetemplate_categories": PLAIN,
    "templates_app_templateversion": TIMESTAMPED,
    "templates_app_templateversion_authors": PLAIN,
    "templates_app_faqentry": Audited(ignored=("updated_at", "search_vector")),
    "templates_app_faqentry_categories": PLAIN,
    "templates_app_bannedphrase": TIMESTAMPED,
    "templates_app_requiredelement": TIMESTAMPED,
    "templates_app_platformlimit": TIMESTAMPED,
    "templates_app_tonenote": TIMESTAMPED,
}

EXEMPT: dict[str, str] = {
    "protocols_sessionfence": "when a user last signed out everywhere: session bookkeeping",
    "protocols_auditevent": "the audit log itself",
    "protocols_accessauditevent": "an append-only audit trail of its own",
    "protocols_reviewevent": "the append-only history of the review schedules",
    "protocols_pirevent": "the append-only history of post-incident reviews",
    "templates_app_templateevent": "the append-only history of the templates",
    "protocols_offboardingchecklist": "offboarding work, recorded in the access audit trail",
    "protocols_offboardingitem": "offboarding work, recorded in the access audit trail",
    "protocols_postincidentreview": "incident work (the review's text), with its own event history",
    "protocols_piractionitem": "incident work, with the review's event history",
    "protocols_pirlesson": "incident work, with the review's event history",
}


def table_label(table: str) -> str:
    """The model's name for a table ("SLA policy"), or the table's name when no model has it."""
    return _labels().get(table, table)


def table_choices() -> list[tuple[str, str]]:
    return sorted(((table, table_label(table)) for table in AUDITED), key=lambda choice: choice[1].lower())


_LABELS: dict[str, str] = {}


def _labels() -> dict[str, str]:
    if not _LABELS:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            owner = meta.auto_created
            if isinstance(owner, type):  # a many-to-many table: "<owner>: <field>"
                field = str(meta.model_name).split("_", 1)[-1].replace("_", " ")
                label = f"{owner._meta.verbose_name}: {field}"
            else:
                label = str(meta.verbose_name)
            _LABELS[meta.db_table] = label[:1].upper() + label[1:]
    return _LABELS
