"""Firmware management and the security whitepaper's logs: UpdateFirmware, SignedUpdateFirmware, GetDiagnostics,
GetLog and their status notifications as lifecycles.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("maintenance")
