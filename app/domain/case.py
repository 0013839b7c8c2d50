"""The small contract between the engine and the domain's per-process hooks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CaseStart:
    """What a start hook hands the engine: the case's data and how to find the case again."""

    data: dict
    business_key: str | None = None
    customer_id: int | None = None
    # Set when there may only ever be one such case (the database refuses a second one).
    unique_key: str | None = None


@dataclass
class ServiceCall:
    """What a BPMN service task hands its domain service.

    `case` is the engine's CaseContext (the instance, who acts, now, `record` for events);
    `decide(inputs)` applies the DMN decision the service task names (None if it names none);
    `properties` are the service task's own settings (camunda:properties).
    """

    data: dict
    case: Any
    decide: Callable[[dict], dict] | None = None
    properties: dict = field(default_factory=dict)  # the service task's camunda:properties
