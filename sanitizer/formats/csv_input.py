"""CSV IOC lists (`type,value[,description]`) -> STIX 2.1 bundle.

Rows are numbered by the physical line on which they start (what an editor shows), so
that "CSV row 7" points at the right place even after comments, blank lines or a
multi-line quoted description. Error messages name row and column, never the cell text.
"""
from __future__ import annotations

import csv
import datetime
import io
import unicodedata
from typing import Iterator

from sanitizer.errors import BadInput
from sanitizer.formats.stixbuild import KINDS, InvalidValue, Ioc, build_bundle, make_ioc

# Accepted spellings of the type column (compared after NFKC, lower-casing, `_`/space -> `-`).
TYPE_ALIASES = {
    **dict.fromkeys(("ip", "ipv4", "ipv4-addr"), "ipv4"),
    **dict.fromkeys(("ipv6", "ipv6-addr"), "ipv6"),
    **dict.fromkeys(("domain", "domain-name", "hostname", "fqdn"), "domain"),
    **dict.fromkeys(("url", "uri"), "url"),
    **dict.fromkeys(("email", "email-addr"), "email"),
    "md5": "md5",
    **dict.fromkeys(("sha1", "sha-1"), "sha1"),
    **dict.fromkeys(("sha256", "sha-256"), "sha256"),
    "sha512": "sha512",
    "ssdeep": "ssdeep",
    **dict.fromkeys(("cve", "vulnerability"), "cve"),
    **dict.fromkeys(("attack", "technique", "attack-technique", "ttp"), "attack-technique"),
    **dict.fromkeys(("file", "filename"), "filename"),
    "mutex": "mutex",
    **dict.fromkeys(("registry", "registry-key"), "registry-key"),
    "user-agent": "user-agent",
    "asn": "asn",
}

_EXPECTED = ", ".join(KINDS)


class _LineFeeder:
    """Feeds physical lines to csv.reader, skipping comments and blank lines between records.

    csv.reader only asks for another line in the middle of a record when it is inside a
    quoted field, so `at_boundary` tells whether a line starts a record (and may be a
    comment) or continues a quoted description (and must be passed through untouched).
    """

    def __init__(self, text: str):
        self._lines = io.StringIO(text, newline="")
        self.line_no = 0
        self.record_start = 0
        self.at_boundary = True
        self.unterminated = False

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            self.line_no += 1
            if self.at_boundary:
                stripped = line.strip()
                if not stripped or stripped.startswith("#"):
                    continue
                self.record_start = self.line_no
                self.at_boundary = False
            yield line
        # Input ended while csv.reader still wanted the rest of a quoted field.
        self.unterminated = not self.at_boundary


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for every non-comment record."""
    feeder = _LineFeeder(text)
    reader = csv.reader(feeder)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # csv messages describe the syntax, not the data
            raise BadInput(f"CSV row {feeder.record_start}: malformed CSV ({exc})") from None
        if feeder.unterminated:
            raise BadInput(f"CSV row {feeder.record_start}: unterminated quoted field")
        feeder.at_boundary = True
        yield feeder.record_start, cells


def _norm_cell(cell: str) -> str:
    return unicodedata.normalize("NFKC", cell).strip().lower()


def _is_header(cells: list[str]) -> bool:
    return len(cells) >= 2 and _norm_cell(cells[0]) == "type" and _norm_cell(cells[1]) == "value"


def _row_to_ioc(row: int, cells: list[str]) -> Ioc:
    # Spreadsheet exports often pad rows with empty trailing cells.
    while len(cells) > 3 and not cells[-1].strip():
        cells.pop()
    if len(cells) < 2:
        raise BadInput(f"CSV row {row}: expected at least 2 columns (type,value), got {len(cells)}")
    if len(cells) > 3:
        raise BadInput(
            f"CSV row {row}: expected at most 3 columns (type,value,description), got {len(cells)}"
            " - quote the description if it contains commas"
        )
    type_cell = _norm_cell(cells[0]).replace("_", "-").replace(" ", "-")
    if not type_cell:
        raise BadInput(f"CSV row {row}: empty type in column 1")
    kind = TYPE_ALIASES.get(type_cell)
    if kind is None:
        raise BadInput(f"CSV row {row}: unknown type in column 1 (expected one of: {_EXPECTED})")
    description = cells[2] if len(cells) == 3 else None
    try:
        return make_ioc(kind, cells[1], description)
    except InvalidValue as exc:
        raise BadInput(f"CSV row {row}: invalid {kind} value in column 2: {exc}") from None


def csv_to_bundle(text: str, *, now: datetime.datetime) -> dict:
    """Convert a `type,value[,description]` CSV IOC list into a STIX 2.1 bundle dict.

    An optional `type,value` header row, `#` comment lines and blank lines are skipped.
    `now` (timezone-aware) stamps every object, so the same text and `now` always give the
    same bundle. Raises BadInput with one line naming the row and column on any problem.
    """
    text = text.removeprefix("\ufeff")  # BOM left by spreadsheet "CSV UTF-8" exports
    if not text.strip():
        raise BadInput("CSV: empty input")
    iocs: list[Ioc] = []
    first = True
    for row, cells in _records(text):
        if first and _is_header(cells):
            first = False
            continue
        first = False
        iocs.append(_row_to_ioc(row, cells))
    if not iocs:
        raise BadInput("CSV: no IOC rows")
    return build_bundle(iocs, now)
