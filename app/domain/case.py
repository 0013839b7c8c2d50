"""The small contract between the engine and the domain's per-process hooks."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaseStart:
    """What a start hook hands the engine: the case's data and how to find the case again."""

    data: dict
    business_key: str | None = None
    customer_id: int | None = None
