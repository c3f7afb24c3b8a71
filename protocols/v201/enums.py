"""OCPP 2.0.1 enumerations the CSMS needs, read from the `ocpp` package's schemas."""

from __future__ import annotations

TRIGGER_MESSAGES: tuple[str, ...] = ()
