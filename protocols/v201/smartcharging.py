"""Smart charging (block K): Set/Get/ClearChargingProfile, GetCompositeSchedule, ReportChargingProfiles, charging
limits, EV charging needs and schedules.

The block's protocol side (``protocols.blocks``); empty until its domain side exists.
"""

from __future__ import annotations

from ..blocks import Block

BLOCK = Block("smartcharging")
