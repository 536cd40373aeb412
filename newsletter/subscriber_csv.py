"""Import subscribers from CSV (checked row by row first, then applied) and export them to CSV.

Columns: email (required), repositories (OWNER/NAME or display names, separated by ";"; empty
means all), language (zh/en), format (html/markdown), consented (yes/no: consent was given before,
elsewhere). Without consent an imported address must still confirm by email, like anyone else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from newsletter.mail import confirmation_email
from newsletter.models import Repository, Subscriber, normalize_email

COLUMNS = ["email", "repositories", "language", "format", "consented"]
# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); an
# address may legally start with "=" or "+". Exported cells get a leading apostrophe, which
# spreadsheets hide, and the import takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unneutralize(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


TRUE = {"yes", "y", "true", "1", "是"}
MAX_ROWS = 100_000


@dataclass
class ImportRow:
    line: int
    email: str
    repositories: list[Repository] = field(default_factory=list)
    language: str = ""
    format: str = "html"
    consented: bool = False
    outcome: str = "new"  # new, exists, merged, invalid
    notes: list[str] = field(default_factory=list)

    @property
    def importable(self) -> bool:
        return self.outcome == "new"


class CSVError(ValueError):
    """The file as a whole cannot be read; one line for the editor."""


def parse(text: str) -> list[ImportRow]:
    """Check every row without changing anything; duplicates within the file merge into the first."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "email" not in [name.strip().lower() for name in reader.fieldnames]:
        raise CSVError("the first line must name the columns, and one of them must be 'email'")
    repositories = list(Repository.objects.all())
    by_name = {r.full_name.lower(): r for r in repositories} | {r.display_name.lower(): r for r in repositories}
    existing = {}
    rows: list[ImportRow] = []
    first_of: dict[str, ImportRow] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise CSVError(f"more than {MAX_ROWS} rows: split the file")
        values = {(key or "").strip().lower(): unneutralize((value or "").strip()) for key, value in raw.items() if key}
        row = ImportRow(line=number, email=normalize_email(values.get("email", "")))
        try:
            validate_email(row.email)
        except ValidationError:
            row.outcome, row.notes = "invalid", [f"not an email address: {values.get('email', '')!r}"]
            rows.append(row)
            continue
        row.language = values.get("language") or settings.REPORT_LANGUAGE
        if row.language not in ("zh", "en"):
            row.notes.append(f"language must be zh or en, not {row.language!r}")
        row.format = values.get("format") or "html"
        if row.format not in ("html", "markdown"):
            row.notes.append(f"format must be html or markdown, not {row.format!r}")
        row.consented = values.get("consented", "").lower() in TRUE
        for token in filter(None, (t.strip() for t in values.get("repositories", "").split(";"))):
            repository = by_name.get(token.lower())
            if repository is None:
                row.notes.append(f"unknown repository {token!r}")
            elif repository not in row.repositories:
                row.repositories.append(repository)
        if row.notes:
            row.outcome = "invalid"
        elif row.email in first_of:
            first = first_of[row.email]
            first.repositories += [r for r in row.repositories if r not in first.repositories]
            first.consented = first.consented or row.consented
            row.outcome, row.notes = "merged", [f"same address as line {first.line}: merged into it"]
        else:
            first_of[row.email] = row
        rows.append(row)
    existing = set(Subscriber.objects.filter(email__in=list(first_of)).values_list("email", flat=True))
    for email in existing:
        row = first_of[email]
        row.outcome, row.notes = "exists", ["already in the list: left as it is"]
    return rows


def apply(rows: Iterable[ImportRow], *, imported_by: str, send_confirmations: bool = True) -> dict[str, int]:
    """Create the new subscribers; those without prior consent get a confirmation email."""
    counts = {"active": 0, "pending": 0, "emails": 0}
    consent = f"Imported by {imported_by} on {timezone.now():%Y-%m-%d}; consent was given before the import."
    pending = []
    with transaction.atomic():
        for row in rows:
            if not row.importable or Subscriber.objects.filter(email=row.email).exists():
                continue
            person = Subscriber.objects.create(
                email=row.email,
                language=row.language,
                format=row.format,
                status=Subscriber.Status.ACTIVE if row.consented else Subscriber.Status.PENDING,
                confirmed_at=timezone.now() if row.consented else None,
                consent_text=consent if row.consented else f"Imported by {imported_by}; awaiting confirmation.",
            )
            person.repositories.set(row.repositories)
            counts["active" if row.consented else "pending"] += 1
            if not row.consented:
                pending.append(person)
    if send_confirmations:
        for person in pending:
            confirmation_email(person).send()
            counts["emails"] += 1
    return counts


def export_rows(subscribers: Iterable[Subscriber]) -> Iterator[list[str]]:
    yield ["email", "status", "repositories", "language", "format", "created_at", "confirmed_at", "unsubscribed_at"]
    for person in subscribers:
        row = [
            person.email,
            person.status,
            ";".join(r.full_name for r in person.repositories.all()),
            person.language,
            person.format,
            person.created_at.isoformat(),
            person.confirmed_at.isoformat() if person.confirmed_at else "",
            person.unsubscribed_at.isoformat() if person.unsubscribed_at else "",
        ]
        yield [neutralize(cell) for cell in row]
