"""OCPP 2.1: what 2.1 keeps of 2.0.1 is 2.0.1's code, run on 2.1's schemas; what 2.1 adds is here.

- ``protocol``: ``PROTOCOL`` and ``PORT``, built from ``protocols.v201``'s handlers, sessions, results,
  command checks, shortcuts and functional blocks (the messages 2.1 keeps are the same messages), with
  2.1's action lists and schemas, and 2.1's own block ``eventstreams``
- ``actions``: 2.1's action lists (91 actions; the SEND ones have no reply schema)
- ``commands``: the 2.1 command catalogue (2.1's schemas, then 2.0.1's checks of the station's state)
- ``eventstreams``: periodic event streams (Open/Close from the station, the SEND NotifyPeriodicEventStream,
  Adjust/Get from the CSMS), stored by the ``eventstreams`` app
- ``errors``: spellings, column limits and schema patches (2.0.1's: 2.1 spells errors as 2.0.1 does),
  and the framing's message types (2.1 adds CALLRESULTERROR and SEND)

This module imports nothing, so that ``protocols.validation`` can read ``errors`` without the models.
"""
