"""Proxies (代理/委托): while a person is away, the tasks meant for him personally go to his deputy.

A period names the person, his deputy, from when until when, and optionally the processes it covers
(none: all). One person's periods never overlap. Tasks offered to a role (a group) are not forwarded:
the others in the group take them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.calendar import local
from app.db_types import JSONDoc, UTCDateTime
from app.domain.org import User
from app.engine import directory
from app.errors import InvalidData
from app.i18n import _l


class Delegation(db.Model):
    __tablename__ = "delegations"
    __table_args__ = (Index("ix_delegations_user_period", "user_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    process_keys: Mapped[list] = mapped_column(JSONDoc, default=list)  # empty: every process
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id])


def set_period(user: User, deputy: User, starts_at: datetime, ends_at: datetime, process_keys: list[str],
               by: User, now: datetime) -> Delegation:
    """A new away period of `user` (set by himself, or by an administrator for someone who is away: the
    policy says who may)."""
    errors: dict[str, list] = {}
    if deputy.id == user.id or not deputy.active:
        errors["deputy"] = [_l("Choose an active person other than the one who is away.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_l("The period must end after it starts.")]
    elif ends_at <= now:
        errors["ends_at"] = [_l("The period is already over.")]
    if errors:
        raise InvalidData(_l("The away period is not valid."), errors)
    overlapping = db.session.scalar(select(Delegation).where(
        Delegation.user_id == user.id, Delegation.starts_at < ends_at, Delegation.ends_at > starts_at).limit(1))
    if overlapping is not None:
        message = _l("It overlaps the away period from %(start)s to %(end)s.",
                     start=local(overlapping.starts_at).strftime("%Y-%m-%d %H:%M"),
                     end=local(overlapping.ends_at).strftime("%Y-%m-%d %H:%M"))
        raise InvalidData.on("starts_at", message)
    period = Delegation(user=user, deputy=deputy, starts_at=starts_at, ends_at=ends_at,
                        process_keys=sorted(set(process_keys)), created_by_id=by.id, created_at=now)
    db.session.add(period)
    db.session.commit()
    return period


directory.watch(Delegation)  # its triggers replace the directory's token too


def _periods_by_person() -> dict[int, list[tuple[datetime, datetime, int, tuple[str, ...]]]]:
    """Every away period, by the person away (a handful a day: kept with the process's organisation)."""
    periods: dict[int, list] = {}
    for row in db.session.execute(select(Delegation.user_id, Delegation.starts_at, Delegation.ends_at,
                                         Delegation.deputy_id, Delegation.process_keys)):
        periods.setdefault(row.user_id, []).append((row.starts_at, row.ends_at, row.deputy_id,
                                                    tuple(row.process_keys or ())))
    return periods


def deputy_for(user_id: int, process_key: str, now: datetime) -> User | None:
    """Who acts for this person now in this process, if he is away."""
    for starts_at, ends_at, deputy_id, process_keys in directory.derived("away_periods", _periods_by_person).get(
            user_id, ()):
        if starts_at <= now < ends_at and (not process_keys or process_key in process_keys):
            deputy = db.session.get(User, deputy_id)
            if deputy is not None and deputy.active:
                return deputy
    return None


def periods_of(user: User, now: datetime) -> list[Delegation]:
    """His periods that are not over, and those in which he is the deputy, soonest first."""
    return list(db.session.scalars(select(Delegation).where(
        Delegation.ends_at > now, or_(Delegation.user_id == user.id, Delegation.deputy_id == user.id))
        .order_by(Delegation.starts_at)))


def period(period_id: int) -> Delegation | None:
    return db.session.get(Delegation, period_id)


def end_period(period: Delegation, now: datetime) -> None:
    """End a period now (or drop one that has not begun)."""
    if period.starts_at >= now:
        db.session.delete(period)
    else:
        period.ends_at = min(period.ends_at, now)
    db.session.commit()

