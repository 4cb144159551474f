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
    found = _reader(members, lang)
    if found is not None:
        return found
    readable = sorted({x for e in members for x in e.meta.get("languages", [])})
    raise PlugmtError(
        f"no encoder of the space of {encoder.id} reads {lang!r} (its encoders read "
        f"{', '.join(readable)}); distil a student for it: plugmt-train train.mode=student "
        f"data.pairs=[{lang}-<a language it reads>]"
    )


def passed_over(store: Store, student: StoredModule) -> dict[str, str]:
    """The languages of `student` that `source=` reads with another encoder of its space (the teacher,
    or a newer student of the language), each with that encoder's id."""
    members = space_members(store, student)
    readers = {lang: _reader(members, lang) for lang in student.meta.get("languages", [])}
    return {lang: r.id for lang, r in readers.items() if r is not None and r.id != student.id}


def _reader(members: list[StoredModule], lang: str) -> StoredModule | None:
    """Of a space's encoders (oldest first), the one `source=lang` picks: the teacher, else the
    newest student reading `lang`."""
    reading = [e for e in members if lang in e.meta.get("languages", [])]
    teachers = [e for e in reading if not e.meta.get("space")]
    return (teachers or reading)[-1] if reading else None
