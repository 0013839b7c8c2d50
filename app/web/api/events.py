"""GET /events: the compliance search over the audit trail, for those who review cases."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.engine import queries
from app.errors import InvalidData
from app.policy import REVIEW
from app.web import policy
from app.web.api.common import date_time_arg, event_json, int_arg, token_required

bp = Blueprint("events", __name__)


@bp.route("/events")
@token_required
def search_events():
    """The audit trail, newest first (compliance reviewers and process administrators, as on the pages).

    Filters: actor (user name or id), process_key, type, since (inclusive), until (exclusive),
    instance; page and per_page (at most 200).
    """
    policy().require(g.api_user, REVIEW)
    errors: dict = {}
    since, until = date_time_arg("since", errors), date_time_arg("until", errors)
    if since is not None and until is not None and until <= since:
        errors["until"] = [_l("Must be later than `since`.")]
    instance_id = int_arg("instance", errors)
    page = max(int_arg("page", errors, 1), 1)
    per_page = min(max(int_arg("per_page", errors, 50), 1), 200)
    if errors:
        raise InvalidData(_l("Some search parameters are not valid."), errors)
    actor = request.args.get("actor", "").strip() or None
    result = queries.search_events(actor=actor, process_key=request.args.get("process_key") or None,
                                   event_type=request.args.get("type") or None, since=since, until=until,
                                   instance_id=instance_id, page=page, per_page=per_page)
    return jsonify(items=[event_json(e) for e in result.items], page=result.page, pages=result.pages,
                   total=result.total)
