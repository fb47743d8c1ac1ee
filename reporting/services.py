"""Reporting's only writes: the monthly review report, made once per month (idempotent), stored as a
page and a PDF, and announced to every manager through the notification outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from incidents.services.notifications import notifications_enqueue
from incidents.services.recipients import Message, drafts_for
from protocols.models import Role
from reporting.metrics import ReportQuery, scheduled_report_compute
from reporting.models import MonthlyReport
from reporting.pdf import monthly_pdf
from reporting.presenters import dashboard_context


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_before(day: date) -> date:
    first = month_start(day)
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


def month_after(day: date) -> date:
    first = month_start(day)
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _inline_css() -> str:
    """The dashboard's stylesheet, inlined: the stored page must render alone (downloaded, mailed)."""
    parts = []
    for name in ("firebreak/app.css", "reporting/reports.css"):
        found = finders.find(name)
        if isinstance(found, str):
            parts.append(Path(found).read_text())
    return "\n".join(parts)


def monthly_report_generate(*, month: date, now: datetime) -> MonthlyReport:
    """The review of `month` (any day of it); made once: a second call, or a concurrent one, returns the
    stored report unchanged, and the managers hear of it once."""
    first = month_start(month)
    existing = MonthlyReport.objects.filter(month=first).first()
    if existing is not None:
        return existing
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(month_after(first), time.min, tzinfo=UTC)
    query = ReportQuery(start=start, end=end)
    report = scheduled_report_compute(query=query, now=now)
    previous = scheduled_report_compute(query=query.previous(), now=now)
    context = dashboard_context(report, previous)
    title = f"Monthly review: {first:%B %Y}"
    period = f"Incidents created {context['range_text']}, compared with {context['previous_text']}."
    html = render_to_string(
        "reporting/monthly_report.html",
        {
            **context,
            "title": title,
            "period": period,
            "generated_at": now,
            "base_url": settings.FIREBREAK_BASE_URL.rstrip("/"),
            "inline_css": _inline_css(),
        },
    )
    pdf = monthly_pdf(title=title, period=period, report=report, headlines=context["headlines"])
    headlines = [{"label": h.label, "value": h.value, "previous": h.previous} for h in context["headlines"]]
    try:
        with transaction.atomic():
            row = MonthlyReport.objects.create(
                month=first,
                period_start=start,
                period_end=end,
                generated_at=now,
                headlines=headlines,
                html=html,
                pdf=pdf,
                emailed_at=now,
            )
            _announce(row, title=title)
    except IntegrityError:  # another worker made it first
        return MonthlyReport.objects.get(month=first)
    return row


def _announce(row: MonthlyReport, *, title: str) -> None:
    managers = list(
        get_user_model()
        .objects.filter(is_active=True, role_assignments__role=Role.MANAGER)
        .values_list("pk", flat=True)
        .distinct()
    )
    link = reverse("reporting:monthly_report", kwargs={"slug": row.slug})
    body = "\n".join(f"{h['label']}: {h['value']} ({h['previous']})" for h in row.headlines)
    notifications_enqueue(
        items=drafts_for(
            [
                Message(
                    key=f"monthly-report:{row.slug}",
                    kind="monthly_report",
                    subject=title,
                    body=f"{body}\n\nRead it (and download it as HTML or PDF): "
                    f"{settings.FIREBREAK_BASE_URL.rstrip('/')}{link}",
                    link=link,
                    user_ids=managers,
                )
            ]
        )
    )
