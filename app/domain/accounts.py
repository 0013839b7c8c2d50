"""Sign-in: argon2 password hashes and API bearer tokens (only their SHA-256 is stored)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from app import db
from app.domain.org import ApiToken, User


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"])


@lru_cache(maxsize=4)
def _decoy_hash(time_cost: int, memory_cost: int) -> str:
    """Verified against when the user name is unknown, so that both failures take as long."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost).hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None. Unknown names cost as much as wrong passwords."""
    user = db.session.scalar(select(User).where(User.username == username))
    hasher = _hasher()
    try:
        if user is None:
            hasher.verify(_decoy_hash(hasher.time_cost, hasher.memory_cost), password)
            return None
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    hours = current_app.config["API_TOKEN_HOURS"]
    db.session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    db.session.commit()
    return token


def user_for_token(token: str, now: datetime) -> User | None:
    return db.session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.expires_at > now, User.active))
