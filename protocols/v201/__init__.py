"""OCPP 2.0.1 (the Core profile and the notifications of the others): everything this CSMS knows of the version.

- ``handlers``: inbound Calls of provisioning, the device model and the notifications -> services -> replies
- ``sessions``: Authorize, TransactionEvent, MeterValues
- ``commands``: the command catalogue (``command_check``) and what a queued command means
- ``results``: what an answered command changes
- ``shortcuts``: the payload builders behind every operator shortcut
- ``actions``: the action lists; ``enums``: the enumerations offered to people; ``errors``: the
  version's error spellings, column limits and schema patches
- ``protocol``: ``PROTOCOL`` (for the processing, with the registration gate ``admit``) and ``PORT``
  (the domain's ``ProtocolPort``), registered by ``protocols.apps``

This module imports nothing, so that ``protocols.validation`` can read ``errors`` without the models.
"""
