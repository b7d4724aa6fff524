"""The log extract's inputs read from the consent service's answer (`POST /v1/log-extract`) and
the board's own access log, and the extract rendered: the page's HTML part and the PDF.

The PDF is WeasyPrint's, from the same template as the page (HTML and CSS to PDF, with the fonts
fontconfig finds: DejaVu Sans from Debian's fonts-dejavu-core, deploy/pdf.sh, which carries every
Swedish letter and is embedded in the file). It fetches nothing: the document has no links to
resources, and its URL fetcher refuses any.
"""

import asyncio
from datetime import datetime

from fastapi.templating import Jinja2Templates

from services.board.log_extract import ConsentChange, Decision, LogExtract, Look


def _at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def decisions_of(answer: dict, pseudonym: str) -> list[Decision]:
    """The consent service answers for the person asked about, by their pseudonym."""
    return [
        Decision(
            pseudonym,
            d["event_id"],
            d["event_type"],
            d["sender"],
            d.get("recipient"),
            d["forwarded"],
            d["reason"],
            d["basis"],
            d.get("consent_id"),
            d.get("legal_reference"),
            _at(d["event_time"]),
            _at(d["decided_at"]),
        )  # fmt: skip
        for d in answer.get("decisions", [])
    ]


def consent_changes_of(answer: dict, pseudonym: str) -> list[ConsentChange]:
    changes = []
    for item in answer.get("consents", []):
        c = item["consent"]
        for change in item.get("history", []):
            changes.append(
                ConsentChange(
                    pseudonym,
                    str(c["id"]),
                    change["kind"],
                    _at(change["occurred_at"]),
                    tuple(c["parties"]),
                    tuple(c["categories"]),
                    tuple(c["excluded_categories"]),
                    tuple(c["excluded_event_types"]),
                    _at(c["valid_from"]),
                    _at(c["valid_until"]),
                    c["form"],
                )  # fmt: skip
            )
    return changes


def looks_of(entries: list[dict], source: str, pseudonym: str) -> list[Look]:
    """Access-log entries (services/runtime/access_log.AccessLog.search's shape), of `source`."""
    return [Look.model_validate({"person": pseudonym, **e, "source": source}) for e in entries]


def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError("the log extract's PDF loads nothing")


def pdf_html(templates: Jinja2Templates, x: LogExtract) -> str:
    return templates.get_template("log_extract_pdf.html").render(x=x)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported on first use: it loads Pango, which the rest of the board never needs

    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()


async def pdf_of(templates: Jinja2Templates, x: LogExtract) -> bytes:
    """The extract as a PDF, made in a thread: layout takes a moment, and the loop serves others meanwhile."""
    return await asyncio.to_thread(_pdf, pdf_html(templates, x))
