"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV injection").

A text cell beginning with = + - @ tab or carriage return is prefixed with a single
quote, which spreadsheets show but do not evaluate. Numbers are left alone, also as
text: "-3.5" stays a negative number, not "'-3.5". Every CSV download goes through
``safe_cell`` (or ``safe_row`` / ``csv_line``).
"""

from __future__ import annotations

import math

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def safe_cell(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def safe_row(row) -> list:
    return [safe_cell(v) for v in row]


def csv_field(value) -> str:
    """One escaped cell, quoted as the csv module would (for hand-built streaming lines)."""
    text = str(safe_cell(value))
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n\r') else text
