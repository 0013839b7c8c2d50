"""Column types shared by the models."""
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores UTC; always gives back aware UTC datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Sha256(TypeDecorator):
    """A SHA-256 digest stored as its 32 bytes (half the room of its hex text); Python reads and writes the
    64 lowercase hex characters `hashlib`'s hexdigest gives, so that code comparing, hashing or exporting
    hashes never sees the bytes."""

    impl = LargeBinary(32)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> bytes | None:
        if value is None:
            return None
        raw = bytes.fromhex(value)  # ValueError unless hex
        if len(raw) != 32:
            raise ValueError(f"not a SHA-256 digest: {value!r}")
        return raw

    def process_result_value(self, value: bytes | str | None, dialect) -> str | None:
        if value is None:
            return None
        # Text someone wrote by hand into the column (SQLite keeps whatever it is given): as it is, so
        # that the audit's verification names it rather than failing on it.
        if isinstance(value, str):
            return value
        return bytes(value).hex()


# JSON documents: JSONB on PostgreSQL (indexable), JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
