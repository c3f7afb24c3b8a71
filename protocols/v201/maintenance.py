"""Firmware (block L) and logs (block N's GetLog): UpdateFirmware, PublishFirmware / UnpublishFirmware, GetLog
and their status notifications as lifecycles.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("maintenance")
