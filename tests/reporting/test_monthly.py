"""The monthly review: on the first of a month beat makes the previous month's report once, stores it
as a page and a PDF with the same figures as the dashboard, and tells every manager; managers read and
download it, nobody else does."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from config.celery import app
from incidents.models import Notification
from reporting.metrics import ReportQuery, report_compute
from reporting.models import MonthlyReport
from reporting.tasks import monthly_report_for_last_month
from tests.factories import UserFactory
from tests.reporting.world import END, START, build
from tests.sla import at

pytestmark = pytest.mark.django_db
FIRST_OF_NOVEMBER = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages: ReportLab's content streams, ASCII85-decoded and inflated."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data if data.startswith(b"<~") else b"<~" + data, adobe=True)
        try:
            chunks.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            chunks.append(data.decode("latin-1"))
    return "".join(chunks)


def test_the_first_of_the_month_makes_last_months_review_once_and_tells_the_managers(manager: Any) -> None:
    other_manager = UserFactory(username="mika", roles=["manager"])
    build(51)
    with at(FIRST_OF_NOVEMBER):
        made = monthly_report_for_last_month()
        again = monthly_report_for_last_month()
    assert made == again and MonthlyReport.objects.count() == 1
    report = MonthlyReport.objects.get()
    assert report.month.isoformat() == "2026-10-01"
    assert (report.period_start, report.period_end) == (START, END)

    expected = report_compute(query=ReportQuery(start=START, end=END), user=manager, now=FIRST_OF_NOVEMBER)
    incidents = next(h for h in report.headlines if h["label"] == "Incidents")
    assert incidents["value"] == f"{expected.incidents:,}"
    assert "Monthly review: October 2026" in report.html
    assert '<p class="headline-value"><a href="http://localhost:8000/?' in report.html  # links work offline
    assert "<link" not in report.html and "<script" not in report.html  # the page stands alone

    pdf = bytes(report.pdf)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert "Monthly review: October 2026" in text and "Time in each approval step" in text

    told = Notification.objects.filter(kind="monthly_report")
    assert {n.recipient_id for n in told} == {manager.pk, other_manager.pk}
    assert {n.channel for n in told} == {"in_app", "email"}
    assert told.count() == 4  # once per manager and channel, however often the task runs


def test_beat_runs_it_on_the_first_of_each_month() -> None:
    entry = app.conf.beat_schedule["monthly-review-report"]
    assert entry["task"] == "reporting.tasks.monthly_report_for_last_month"
    schedule = entry["schedule"]
    assert schedule.day_of_month == {1} and schedule.hour == {0}


def test_managers_read_and_download_it_others_cannot(client: Client, manager: Any, responder: Any) -> None:
    build(52)
    with at(FIRST_OF_NOVEMBER):
        monthly_report_for_last_month()
    client.force_login(manager)
    listing = client.get("/reports/monthly/").content.decode()
    assert "October 2026" in listing and 'href="/reports/monthly/2026-10.pdf"' in listing
    page = client.get("/reports/monthly/2026-10/")
    assert page.status_code == 200 and "Monthly review: October 2026" in page.content.decode()
    assert "default-src 'none'" in page["Content-Security-Policy"]
    pdf = client.get("/reports/monthly/2026-10.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert 'filename="firebreak-review-2026-10.pdf"' in pdf["Content-Disposition"]
    html = client.get("/reports/monthly/2026-10.html")
    assert "attachment" in html["Content-Disposition"] and b"Monthly review" in html.content
    assert client.get("/reports/monthly/2026-09/").status_code == 404
    assert client.get("/reports/monthly/2026-10.exe").status_code == 404

    client.force_login(responder)
    assert client.get("/reports/monthly/").status_code == 403
    assert client.get("/reports/monthly/2026-10.pdf").status_code == 403
