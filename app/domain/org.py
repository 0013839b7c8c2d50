"""Organisation: headquarters, branches, territories, departments, users and their roles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime

# Kinds of org unit.
HQ, BRANCH, TERRITORY, DEPARTMENT = "hq", "branch", "territory", "department"

# Role codes. Their display names live with the pages (translated), the codes are stable.
SALES_REP = "sales_rep"
CUSTOMER_SPECIALIST = "customer_specialist"
BUSINESS_SUPERVISOR = "business_supervisor"
BRANCH_MANAGER = "branch_manager"
SALES_MANAGER = "sales_manager"
DEPUTY_GM = "deputy_gm"
HQ_MARKETING = "hq_marketing"
LEADERSHIP = "leadership"
SALES_DEPARTMENT = "sales_department"
FINANCE = "finance"
AUDITOR = "auditor"
ADMIN = "admin"


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

    def branch(self) -> OrgUnit | None:
        """The branch this unit belongs to (itself if it is one)."""
        unit: OrgUnit | None = self
        while unit is not None and unit.kind != BRANCH:
            unit = unit.parent
        return unit

    def department(self, function: str) -> OrgUnit | None:
        return db.session.scalar(
            select(OrgUnit).where(OrgUnit.parent_id == self.id, OrgUnit.kind == DEPARTMENT,
                                  OrgUnit.function == function))


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


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


def users_with_role(role_code: str, org_unit_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership).join(Role)
        .where(Role.code == role_code, Membership.org_unit_id == org_unit_id, User.active)
        .order_by(User.id)))


def colleagues(user: User) -> list[User]:
    """Active people of the user's branch (or of headquarters, for someone there), himself aside: whom
    he may pick to hand a task on to or ask for an opinion (the engine checks the rest)."""
    branch = user.org_unit.branch()
    people = db.session.scalars(select(User).where(User.active, User.id != user.id).order_by(User.username))
    return [person for person in people if person.org_unit.branch() == branch]
