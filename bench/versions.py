"""The OCPP versions the benchmark speaks: one entry each in ``VERSIONS``, as ``protocols.PROTOCOLS``.

A version says which script its virtual chargers follow, how both ends of a benchmark answer
(the bare responder for the CSMS, the virtual chargers for the CSMS's commands) and on which topics
its frames travel: 1.6 on EMQX's, 2.0.1 on the 2.0.1 route of our gateway (``CSMS_TOPIC_CALL_V201``
/ ``CSMS_TOPIC_REPLY_V201``, the EMQX envelope too); replies come back on the one downstream topic.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bench import payloads, payloads_v201, replies, replies_v201
from bench.mqtt import V201_TOPICS, Topics, topics_from_env
from bench.payloads import Payload


class Script(Protocol):
    """A virtual charger's life: the next Call, and the reply to it (None: a CallError or none)."""

    def next_call(self) -> tuple[str, Payload]: ...

    def on_reply(self, action: str, payload: Payload | None) -> None: ...


@dataclass(frozen=True)
class Version:
    """What the benchmark needs of one OCPP version."""

    name: str
    #: A charger's script from its id and its offset in the session script.
    script: Callable[[str, int], Script]
    #: The bare responder's CallResult payload for a charger's (action, payload).
    csms_result: Callable[[str, Payload], Payload]
    #: A virtual charger's CallResult payload for a CSMS Call, None when it answers NotSupported.
    charger_result: Callable[[str, Payload], Payload | None]
    #: This version's topics as the backoffice reads them from the environment (the same variables).
    topics: Callable[[], Topics]

    def enabled(self) -> bool:
        """Whether the backoffice subscribes to this version's route at all (2.0.1's may be turned off)."""
        topics = self.topics()
        return bool(topics.call and topics.reply)


def _v201_topics() -> Topics:
    """``CSMS_TOPIC_CALL_V201`` / ``CSMS_TOPIC_REPLY_V201``, "" when set empty (the route is off)."""
    return Topics(
        call=os.environ.get("CSMS_TOPIC_CALL_V201", V201_TOPICS.call),
        reply=os.environ.get("CSMS_TOPIC_REPLY_V201", V201_TOPICS.reply),
        downstream=topics_from_env().downstream,
    )


def _v16_charger_result(action: str, payload: Payload) -> Payload | None:
    return replies.charger_result(action)


V16 = Version(
    name="1.6",
    script=lambda cid, offset: payloads.ChargerScript(cid, offset=offset),
    csms_result=replies.csms_result,
    charger_result=_v16_charger_result,
    topics=topics_from_env,
)
V201 = Version(
    name="2.0.1",
    script=lambda cid, offset: payloads_v201.ChargerScript(cid, offset=offset),
    csms_result=replies_v201.csms_result,
    charger_result=replies_v201.charger_result,
    topics=_v201_topics,
)
VERSIONS: dict[str, Version] = {version.name: version for version in (V16, V201)}
