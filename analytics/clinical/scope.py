"""The bound values every clinical macro starts from: who is asking, and which of their couples."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.practice import access
from analytics.practice.access import Actor


def scope(actor: Actor, couple_ids: Sequence[int] | None = None) -> list[object]:
    """[sees_all, therapist id, couple ids or None] for `macro(?, ?, ?)`."""
    ids = None if couple_ids is None else [int(i) for i in couple_ids]
    return [*access.params(actor), ids]
