"""What a page reads is about one couple, or one person's caseload: say so to the database, so
that a practice kept in PostgreSQL copies just those couples' per-response rows once per page
(see Database.focus), instead of reading every couple's scores for each query. A DuckDB file
needs nothing of the kind; there the decorators change nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.store.db import Database

P = ParamSpec("P")
T = TypeVar("T")


def about_couple(
    fn: Callable[Concatenate[Database, Actor, int, P], T],
) -> Callable[Concatenate[Database, Actor, int, P], T]:
    """For `fn(db, actor, couple_id, ...)`: its reads need that couple's rows only."""

    @functools.wraps(fn)
    def focused(
        db: Database, actor: Actor, couple_id: int, /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with db.focus([int(couple_id)]):
            return fn(db, actor, couple_id, *args, **kwargs)

    return focused


def about_caseload(
    fn: Callable[Concatenate[Database, Actor, P], T],
) -> Callable[Concatenate[Database, Actor, P], T]:
    """For `fn(db, actor, ...)`: its reads need the couples `actor` may see (the one access
    rule, `couples_in_scope`), read once."""

    @functools.wraps(fn)
    def focused(db: Database, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if db.backend != "postgres":
            return fn(db, actor, *args, **kwargs)
        sees_all, therapist, _ = scope(actor)
        ids: list[Any] | None = None
        if not sees_all:
            rows = db.query_rows(
                "SELECT couple_id FROM couples_in_scope(?, ?, ?)", [sees_all, therapist, None]
            )
            ids = [int(r[0]) for r in rows]
        with db.focus(ids):
            return fn(db, actor, *args, **kwargs)

    return focused
