"""Security whitepaper: credential rotation (ChangeConfiguration AuthorizationKey), the security profile upgrade
(SecurityProfile key), critical security events as operator alerts.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("security")
