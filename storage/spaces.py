"""Thought spaces: a teacher encoder and the students distilled into it (train.mode=student) write
one space (`space_of`), and every decoder of the space fits them all. Reads the store, never writes."""

from __future__ import annotations

from plugmt.errors import PlugmtError
from plugmt.storage.module import StoredModule, space_of
from plugmt.storage.store import Store


def space_members(store: Store, encoder: StoredModule) -> list[StoredModule]:
    """Every encoder writing `encoder`'s thought space, oldest first: the teacher, then its students."""
    space = space_of(encoder.meta)
    return [e for e in store.encoders() if space_of(e.meta) == space]


def member_for(store: Store, encoder: StoredModule, lang: str) -> StoredModule:
    """The encoder of `encoder`'s space that reads `lang`: `encoder` itself if it does, else the
    teacher, else the newest student reading it."""
    if lang in encoder.meta.get("languages", []):
        return encoder
    members = space_members(store, encoder)
    reading = [e for e in members if lang in e.meta.get("languages", [])]
    teachers = [e for e in reading if not e.meta.get("space")]
    if reading:
        return (teachers or reading)[-1]
    readable = sorted({x for e in members for x in e.meta.get("languages", [])})
    raise PlugmtError(
        f"no encoder of the space of {encoder.id} reads {lang!r} (its encoders read "
        f"{', '.join(readable)}); distil a student for it: plugmt-train train.mode=student "
        f"data.pairs=[{lang}-<a language it reads>]"
    )
