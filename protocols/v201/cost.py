"""Tariff and cost (block I): CostUpdated, the running and total cost of a session.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("cost")
