"""Blueprints: thin routes that parse input, ask the policy, call the engine or the domain, and render."""
from datetime import date

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from app.domain.org import User
from app.engine.plugins import APPROVE_VERSION
from app.engine.runtime import Engine
from app.errors import AppError, InvalidData
from app.policy import CHANGE, Policy

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def engine() -> Engine:
    return current_app.extensions["engine"]


def policy() -> Policy:
    return current_app.extensions["policy"]


# The one change compliance reviewers make, by endpoint: as maker–checker's second person they approve or
# reject a pending process version (the route asks the policy about that version itself).
REVIEWERS_MAY = {"admin.review_version": APPROVE_VERSION}


def refuse_changes_by_reviewers(user: User) -> None:
    """Compliance reviewers read everything and change nothing: any request of theirs that would
    change something is refused, on the pages and the API alike (signing in and out aside, and their
    approval of a pending process version)."""
    if request.method not in SAFE_METHODS:
        policy().require(user, CHANGE, doing=REVIEWERS_MAY.get(request.endpoint))


def in_words(exc: AppError) -> str:
    """A refusal as one line for a flash: its message, then what each field it names says."""
    details = [f"{name}: {message}" for name, messages in exc.fields.items()
               for message in (messages if isinstance(messages, list) else [messages])]
    return "; ".join([str(exc.message), *map(str, details)])


def date_arg(name: str) -> date | None:
    """A YYYY-MM-DD query parameter (None when absent); a 400 naming it when it is not a date."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        message = _l("Give dates as YYYY-MM-DD.")
        raise InvalidData(message, {name: [message]}) from None


def period_args() -> tuple[date | None, date | None]:
    """`since` and `until` (days, both included) from the query string."""
    since, until = date_arg("since"), date_arg("until")
    if since and until and since > until:
        message = _l("The start date is after the end date.")
        raise InvalidData.on("since", message)
    return since, until
