"""The monthly review as a PDF (ReportLab): the same figures as its page, as tables a printer keeps."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reporting import charts
from reporting.metrics import Report
from reporting.presenters import Headline

GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1fd")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cfd4dc")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
    cells = [[c if isinstance(c, Flowable) else str(c) for c in row] for row in rows]
    body = [list(header), *cells] if rows else [list(header), ["None."]]
    table = Table(body, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return table


def monthly_pdf(*, title: str, period: str, report: Report, headlines: Sequence[Headline]) -> bytes:
    styles = getSampleStyleSheet()
    small = ParagraphStyle(
        "small", parent=styles["Normal"], fontSize=8.5, textColor=colors.HexColor("#6a7280")
    )
    story: list[Any] = [
        Paragraph(title, styles["Title"]),
        Paragraph(period, styles["Normal"]),
        Spacer(1, 6 * mm),
        Paragraph("Headline figures", styles["Heading2"]),
        _table(
            ["Figure", "This month", "Before", "Detail"],
            [[h.label, h.value, h.previous, Paragraph(h.note, small)] for h in headlines],
            [52 * mm, 28 * mm, 38 * mm, 56 * mm],
        ),
        Paragraph("Response targets", styles["Heading2"]),
        _table(
            ["Target", "Met", "Breached", "Compliance"],
            [
                [t.label, t.met, t.breached, "-" if t.compliance is None else f"{t.compliance:.0%}"]
                for t in report.targets
            ],
            [60 * mm, 30 * mm, 30 * mm, 30 * mm],
        ),
    ]
    for dimension, rows in report.breaches_by.items():
        story += [
            Paragraph(f"Breaches by {dimension}", styles["Heading3"]),
            _table(
                [dimension.capitalize(), "Incidents"], [[r.label, r.value] for r in rows], [90 * mm, 30 * mm]
            ),
        ]
    story += [
        Paragraph("Time in each approval step", styles["Heading2"]),
        _table(
            ["Step", "Decided", "Median", "p90", "Mean", "Median, business"],
            [
                [
                    s.label,
                    s.clock.n,
                    charts.duration_text(s.clock.median),
                    charts.duration_text(s.clock.p90),
                    charts.duration_text(s.clock.mean),
                    charts.duration_text(s.business.median),
                ]
                for s in report.stages
            ],
            [44 * mm, 20 * mm, 24 * mm, 24 * mm, 24 * mm, 36 * mm],
        ),
        Paragraph(
            f"{report.replies_sent_back} of {report.replies_decided} reviewed replies were sent back "
            "for changes.",
            small,
        ),
        Paragraph("Volume", styles["Heading2"]),
    ]
    for dimension, counts in report.incidents_by.items():
        story += [
            Paragraph(f"Incidents by {dimension}", styles["Heading3"]),
            _table(
                [dimension.capitalize(), "Incidents"],
                [[c.label, c.value] for c in counts],
                [90 * mm, 30 * mm],
            ),
        ]
    story += [
        Paragraph("Top recurring themes", styles["Heading2"]),
        _table(
            ["Category", "Product", "Came back"],
            [[c, p, n] for c, p, n, _ in report.themes],
            [60 * mm, 60 * mm, 30 * mm],
        ),
        Paragraph("Surges and crisis periods", styles["Heading2"]),
        _table(
            ["What", "When"],
            [[f"Surge: #{pk} {title}", f"{at:%d %b %Y %H:%M}"] for pk, title, at in report.surges]
            + [
                [f"Crisis: {c['reason']}", f"{c['started_at']:%d %b %H:%M} to {c['ended_at']:%d %b %Y %H:%M}"]
                for c in report.crises
            ],
            [110 * mm, 60 * mm],
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="Firebreak",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    document.build(story)
    return buffer.getvalue()
