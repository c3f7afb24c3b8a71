"""OCPP 2.0.1's spellings of the error codes 1.6 misspells."""

from __future__ import annotations

SPELLING = {"format": "FormatViolation", "occurrence": "OccurrenceConstraintViolation"}
DECIMAL_SCHEMAS: frozenset[tuple[int, str]] = frozenset()
COLUMN_RANGES: dict[tuple[int, str], tuple[tuple[str, tuple[int, int]], ...]] = {}
