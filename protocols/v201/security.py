"""Security (block A): credential rotation (SetVariables SecurityCtrlr.BasicAuthPassword), the security profile
upgrade (SetNetworkProfile + Reset), critical security events as operator alerts.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("security")
