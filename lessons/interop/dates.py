"""Dates as spreadsheets and exports hold them, read into ``YYYY-MM-DD``."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm])?)?"
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)
_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_Y = re.compile(r"\d{4}")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME)
_D_MON_Y = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s/.-]+([A-Za-z]{3,9})\.?,?[\s/.-]+(\d{4}|\d{2})")
_MON_D_Y = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_MON_Y = re.compile(r"([A-Za-z]{3,9})\.?[\s/-]+(\d{4})")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
# Spreadsheet serial numbers count days from 1899-12-30; 20000..80000 is 1954..2119.
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _year(text: str) -> int:
    # Two-digit years as strptime's %y reads them: 69-99 -> 19xx, 00-68 -> 20xx.
    y = int(text)
    if len(text) == 2:
        y += 1900 if y >= 69 else 2000
    return y


def day_month_order(values: Iterable[str]) -> tuple[bool, bool]:
    """Whether ``values`` (dates like 01/05/2024) show day-first and month-first evidence."""
    dayfirst = monthfirst = False
    for value in values:
        found = _NUMERIC.fullmatch(value.strip())
        if found:
            a, b = int(found.group(1)), int(found.group(2))
            dayfirst |= a > 12 >= b
            monthfirst |= b > 12 >= a
    return dayfirst, monthfirst


def parse_loose_date(text: str, dayfirst: bool | None) -> tuple[str | None, str]:
    """``(YYYY-MM-DD or None, how)``: how is exact, completed, ordered, clamped, serial,
    ambiguous or unknown.

    ``ordered``: a date like 03/04/2024 read in the order ``dayfirst`` gives; with
    ``dayfirst`` None such a date is ``ambiguous`` and not read. ``clamped``: a day
    the month does not have (2018-02-29) moved to the month's last day.
    """
    text = text.strip()
    if _SERIAL.fullmatch(text) and 20000 <= float(text) <= 80000:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(float(text)))).isoformat(), "serial"
    parts, how = _date_parts(text, dayfirst)
    if parts is None:
        return None, how
    y, m, d = parts
    try:
        return dt.date(y, m, d).isoformat(), how
    except ValueError:
        pass
    if 1 <= y <= 9999 and 1 <= m <= 12 and 29 <= d <= 31:
        last = calendar.monthrange(y, m)[1]
        return dt.date(y, m, last).isoformat(), "clamped"
    return None, "unknown"


def _date_parts(text: str, dayfirst: bool | None) -> tuple[tuple[int, int, int] | None, str]:
    found = _YMD.fullmatch(text)
    if found:
        y, m, d = (int(g) for g in found.groups())
        return (y, m, d), "exact"
    if _Y.fullmatch(text):
        return (int(text), 1, 1), "completed"
    found = _YM.fullmatch(text)
    if found:
        return (int(found.group(1)), int(found.group(2)), 1), "completed"
    found = _MY.fullmatch(text)
    if found:
        return (int(found.group(2)), int(found.group(1)), 1), "completed"
    found = _NUMERIC.fullmatch(text)
    if found:
        a, b, y = int(found.group(1)), int(found.group(2)), _year(found.group(3))
        if a == b:
            return (y, a, a), "exact"
        if dayfirst is None:
            if a > 12 >= b:
                return (y, b, a), "exact"
            if b > 12 >= a:
                return (y, a, b), "exact"
            return None, "ambiguous"
        how = "ordered" if a <= 12 and b <= 12 else "exact"
        return ((y, b, a) if dayfirst else (y, a, b)), how
    found = _D_MON_Y.fullmatch(text)
    if found and found.group(2).lower() in _MONTHS:
        month = _MONTHS[found.group(2).lower()]
        return (_year(found.group(3)), month, int(found.group(1))), "exact"
    found = _MON_D_Y.fullmatch(text)
    if found and found.group(1).lower() in _MONTHS:
        month = _MONTHS[found.group(1).lower()]
        return (int(found.group(3)), month, int(found.group(2))), "exact"
    found = _MON_Y.fullmatch(text)
    if found and found.group(1).lower() in _MONTHS:
        return (int(found.group(2)), _MONTHS[found.group(1).lower()], 1), "completed"
    return None, "unknown"
