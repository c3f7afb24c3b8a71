"""Customer information (block N): CustomerInformation report and clear, NotifyCustomerInformation.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("privacy")
