"""OCPP 1.6 (Core, Firmware Management, Local Auth List, Reservation, Smart Charging, Remote Trigger,
and the security extension's notifications): everything this CSMS knows of the version.

- ``handlers``: inbound Calls -> the domain's typed values -> services -> reply payloads
- ``commands``: the command catalogue (``command_check``: schema and state checks) and what a
  command means when it is queued (a ReserveNow requests a reservation)
- ``results``: what an answered command changes
- ``shortcuts``: the payload builders behind every operator shortcut
- ``actions``: the action lists; ``errors``: the version's error spellings and column limits
- ``protocol``: ``PROTOCOL`` (for the processing) and ``PORT`` (the domain's ``ProtocolPort``),
  registered by ``protocols.apps``

This module imports nothing, so that ``protocols.validation`` can read ``errors`` without the models.
"""
