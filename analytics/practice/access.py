"""Who is acting, and the one rule for which couples they may see.

The rule itself is the SQL table macro `visible_couples(sees_all, therapist_id)` (migration 002);
every query that touches a couple joins it with `params(actor)`. Nothing else decides access.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("therapist", "supervisor")
# An account that only manages accounts: it sees no couple (params() gives it none).
ADMIN_ROLE = "administrator"
# The command line acts for the whole practice: whoever holds the database file sees it all.
PRACTICE_ROLE = "practice"


@dataclass(frozen=True)
class Actor:
    """The person (or the command line) on whose behalf a query or change runs."""

    id: int | None
    name: str
    role: str
    # The signed-in account (None for the command line acting as the practice, and in tests
    # that act as a therapist directly). Part of every cache key, so one person's cached
    # results are never served to another.
    account_id: int | None = None
    is_admin: bool = False

    @property
    def is_supervisor(self) -> bool:
        """Supervisors (and the practice itself) may change settings and reassign couples."""
        return self.role in ("supervisor", PRACTICE_ROLE)

    @property
    def sees_every_couple(self) -> bool:
        """Supervisors and the practice see every couple; a therapist sees their own."""
        return self.role in ("supervisor", PRACTICE_ROLE)


PRACTICE = Actor(id=None, name="command line", role=PRACTICE_ROLE)

# Join this in any query that reads or changes a couple: `JOIN visible_couples(?, ?) v ON
# v.couple_id = c.id`, with `params(actor)` bound in that position.
VISIBLE = "visible_couples(?, ?)"


def params(actor: Actor) -> list[object]:
    """The two bound values of `visible_couples(?, ?)` for this actor."""
    return [actor.sees_every_couple, actor.id]
