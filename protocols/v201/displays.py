"""Display messages (block O): Set/Get/ClearDisplayMessage, NotifyDisplayMessages.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("displays")
