"""Sign-in: argon2 password hashes and API bearer tokens (only their SHA-256 is stored)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime
from app.domain.org import User


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


@lru_cache(maxsize=4)
def _decoy_hash(time_cost: int, memory_cost: int) -> str:
    """Verified against when the user name is unknown, so that both failures take as long."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost).hash(secrets.token_hex(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Passwords and tokens with the deployment's settings: argon2's time and memory cost (tests lower
    them) and how long an API token lasts."""

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, token_hours: int = 12):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
        self.token_lifetime = timedelta(hours=token_hours)

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this name and password, or None. Unknown names cost as much as wrong
        passwords."""
        user = db.session.scalar(select(User).where(User.username == username))
        try:
            if user is None:
                self.hasher.verify(_decoy_hash(self.hasher.time_cost, self.hasher.memory_cost), password)
                return None
            self.hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if not user.active:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
            db.session.commit()
        return user

    def issue_token(self, user: User, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        db.session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                                expires_at=now + self.token_lifetime))
        db.session.commit()
        return token

    @staticmethod
    def user_for_token(token: str, now: datetime) -> User | None:
        # With his roles in the same query: every call asks the policy, which reads them.
        return db.session.scalars(
            select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == _digest(token), ApiToken.expires_at > now, User.active)
            .options(joinedload(User.memberships))).unique().first()
