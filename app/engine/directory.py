"""Who the engine gives work to: users, the roles they hold in org units, and the units themselves (a
tree). A task goes to a user, or is offered to a group: a role in an org unit. What the roles and the
kinds of unit mean is the application's business (app.domain.org)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


def users_with_role(role_code: str, org_unit_id: int) -> list[User]:
    """The active members of a group (a role in an org unit), looked up once per transaction."""
    return list(db.memo(("users_with_role", role_code, org_unit_id), lambda: list(db.session.scalars(
        select(User).join(Membership).join(Role)
        .where(Role.code == role_code, Membership.org_unit_id == org_unit_id, User.active)
        .order_by(User.id)))))
