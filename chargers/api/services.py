"""Writes to id tags (the authorization list the API and the admin manage).

They belong with the other fleet services; they live here until chargers/services.py takes them in.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from chargers.models import AuthorizationStatus, IdTag


class IdTagError(ValueError):
    """An id tag change that cannot be made; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_parent(*, id_tag: str, parent: IdTag | None) -> None:
    """A parent chain must end: a tag cannot be its own ancestor (authorization walks the chain)."""
    seen = {id_tag}
    while parent is not None:
        if parent.id_tag in seen:
            raise IdTagError("parent", "a tag cannot be its own parent, directly or through other tags")
        seen.add(parent.id_tag)
        parent = parent.parent


def id_tag_create(
    *,
    id_tag: str,
    status: str = AuthorizationStatus.ACCEPTED,
    expiry_date: datetime | None = None,
    parent: IdTag | None = None,
    note: str = "",
) -> IdTag:
    """Create an id tag (an RFID card or app token drivers authorize with)."""
    _check_parent(id_tag=id_tag, parent=parent)
    return IdTag.objects.create(id_tag=id_tag, status=status, expiry_date=expiry_date, parent=parent, note=note)


_UPDATABLE = frozenset({"status", "expiry_date", "parent", "note"})


def id_tag_update(*, tag: IdTag, **changes: object) -> IdTag:
    """Change an id tag's status, expiry date, parent or note (its id_tag string is its identity)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise IdTagError(sorted(unknown)[0], "cannot be changed")
    with transaction.atomic():
        if "parent" in changes:
            parent = changes["parent"]
            assert parent is None or isinstance(parent, IdTag)
            _check_parent(id_tag=tag.id_tag, parent=parent)
        for field, value in changes.items():
            setattr(tag, field, value)
        tag.save(update_fields=[*changes, "updated_at"])
    return tag


def id_tag_delete(*, tag: IdTag) -> None:
    """Delete an id tag; its children lose their parent. Past sessions keep the tag string."""
    tag.delete()
