"""Who the engine gives work to: users, the roles they hold in org units, and the units themselves (a
tree). A task goes to a user, or is offered to a group: a role in an org unit. What the roles and the
kinds of unit mean is the application's business (app.domain.org).

Every step asks who holds a role where; the organisation changes a few times a day. So each process
keeps the units and the groups' members in memory (`snapshot`), read again only when the database's
directory version has changed: triggers on the directory's tables (and the away periods) replace its
token on every change, from any node. A transaction reads the token once (the task's load statement
brings it along, see `token_column`), and sees the organisation as of that read.
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ForeignKey, String, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app import db


class OrgUnit(db.Model):
    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # For a department: what it does ("business", "sales", "finance" …), so rules can find it.
    function: Mapped[str | None] = mapped_column(String(40))

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class Role(db.Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(200))  # notifications by e-mail, when SMTP is set up
    active: Mapped[bool] = mapped_column(default=True)
    # Raised when the user signs out: a signed-in session carries the value it began under, and one
    # that carries an older value is refused (the web layer's user loader), however the cookie was kept.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    org_unit: Mapped[OrgUnit] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    # What Flask-Login asks of a user (it refuses inactive ones).
    is_authenticated, is_anonymous = True, False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, code: str, org_unit_id: int | None = None) -> bool:
        return any(m.role.code == code and (org_unit_id is None or m.org_unit_id == org_unit_id)
                   for m in self.memberships)

    def role_codes(self) -> set[str]:
        return {m.role.code for m in self.memberships}

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Membership(db.Model):
    """A user holds a role in an org unit (a territory, a branch department, HQ …)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))

    user: Mapped[User] = relationship(back_populates="memberships")
    role: Mapped[Role] = relationship(lazy="joined")
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")


class DirectoryVersion(db.Model):
    """One row: the token the triggers of migration b8e0a2c4d908 replace whenever the organisation or an
    away period changes."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    function: str | None


@dataclass
class Snapshot:
    """The organisation as of one directory token: never changed once built (`derived` fills lazily)."""

    token: str | None
    units: dict[int, Unit]
    members: dict[tuple[str, int], tuple[int, ...]]  # the active holders of a role in a unit, by id
    roles: dict[int, frozenset[str]]  # the roles each active person holds anywhere
    # What others build from the same rows once per token (the away periods, say): see `derived`.
    derived: dict[str, object] = field(default_factory=dict)

    def children(self, parent_id: int, kind: str) -> list[Unit]:
        return [unit for unit in self.units.values() if unit.parent_id == parent_id and unit.kind == kind]


_TOKEN = "directory_token"
_snapshots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # database engine → Snapshot
_reloading = threading.Lock()


def _token_query():
    return select(DirectoryVersion.token).where(DirectoryVersion.id == 1)


def token_column():
    """The directory's token as a column of another query: the statement that loads what an operation
    works on reads it too, and `note_token` keeps it for the transaction."""
    return _token_query().scalar_subquery()


def note_token(token: str | None) -> None:
    db.memo(_TOKEN, lambda: token)


def snapshot() -> Snapshot:
    """The organisation as this transaction sees it: the process's copy while the token is unchanged."""
    token = db.memo(_TOKEN, lambda: db.session.scalar(_token_query()))
    engine = db.current_engine()
    current = _snapshots.get(engine)
    if token is not None and current is not None and current.token == token:
        return current
    with _reloading:
        fresh = _read(token)
        if token is not None:  # no token row: nothing tells when to read again, so nothing is kept
            _snapshots[engine] = fresh
    return fresh


def _read(token: str | None) -> Snapshot:
    units = {row.id: Unit(row.id, row.code, row.name, row.kind, row.parent_id, row.function)
             for row in db.session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind,
                                                  OrgUnit.parent_id, OrgUnit.function))}
    members: dict[tuple[str, int], list[int]] = {}
    roles: dict[int, set[str]] = {}
    for code, unit_id, user_id in db.session.execute(
            select(Role.code, Membership.org_unit_id, User.id).join(Membership, Membership.role_id == Role.id)
            .join(User, User.id == Membership.user_id).where(User.active).order_by(User.id)):
        members.setdefault((code, unit_id), []).append(user_id)
        roles.setdefault(user_id, set()).add(code)
    return Snapshot(token, units, {group: tuple(ids) for group, ids in members.items()},
                    {user_id: frozenset(codes) for user_id, codes in roles.items()})


def derived(name: str, build: Callable[[], object]):
    """What `build()` makes of the directory's tables (or of the tables its token also covers), once per
    token: e.g. the away periods (app.domain.delegation)."""
    current = snapshot()
    if name not in current.derived:
        current.derived[name] = build()
    return current.derived[name]


_watched: list[type] = [OrgUnit, Role, User, Membership]


def watch(model: type) -> None:
    """Another table the token covers (its triggers are in the migrations): a transaction that writes it
    reads the token again."""
    _watched.append(model)


@event.listens_for(Session, "after_flush")
def _forget_token_on_change(session: Session, _context) -> None:
    # This transaction changed the organisation: its next look-up reads the token (which the triggers
    # just replaced) again, and with it what it wrote.
    kinds = tuple(_watched)
    if any(isinstance(row, kinds) for row in (*session.new, *session.dirty, *session.deleted)):
        db.forget(session, _TOKEN)


def member_ids(role_code: str, org_unit_id: int | None) -> tuple[int, ...]:
    """The active members of a group (a role in an org unit), by id."""
    return snapshot().members.get((role_code, org_unit_id), ())


def holds_role(user_id: int, role_code: str) -> bool:
    """Whether an active person holds the role in any unit (`User.has_role` without his memberships)."""
    return role_code in snapshot().roles.get(user_id, ())


def users_with_role(role_code: str, org_unit_id: int) -> list[User]:
    """The active members of a group, as users (one query; `member_ids` when their ids will do)."""
    ids = member_ids(role_code, org_unit_id)
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))
