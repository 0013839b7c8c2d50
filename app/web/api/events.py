"""GET /events: the compliance search over the audit trail, for those who review cases."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.engine import queries
from app.errors import InvalidData
from app.policy import REVIEW
from app.web import policy
from app.web.api.common import EVENT, PAGE, date_time_arg, event_json, int_arg, token_required
from app.web.api.contract import INTEGER, STRING, Example, Param, array, component, error, obj, operation

bp = Blueprint("events", __name__)

MOMENT_WITH_OFFSET = {"type": "string", "format": "date-time"}
EVENT_PAGE = component("EventPage", obj({"items": array(EVENT), **PAGE}))


@bp.route("/events")
@token_required
@operation(
    summary="Search the audit trail",
    query=(Param("actor", STRING, "User name or id."), Param("process_key", STRING), Param("type", STRING),
           Param("since", MOMENT_WITH_OFFSET, "From (inclusive), ISO 8601 with offset."),
           Param("until", MOMENT_WITH_OFFSET, "Until (exclusive), later than `since`."),
           Param("instance", INTEGER, "A case's id."),
           Param("page", {"type": "integer", "minimum": 1, "default": 1}),
           Param("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50})),
    responses={200: ("A page of events, newest first.", EVENT_PAGE)},
    errors=(400, 403),
    examples=(
        Example("by_actor", "What rep_e2 did in December", "auditor", 200,
                query={"actor": "rep_e2", "since": "2026-12-01T00:00:00+08:00"}),
        Example("bad_moment", "A moment without its offset", "auditor", 400, query={"since": "2026-12-01T00:00"},
                response=error("invalid", "Some search parameters are not valid.", {"since": [
                    "Not an ISO 8601 date-time with offset, e.g. 2026-01-01T00:00:00+08:00."]})),
        Example("not_reviewer", "A sales rep", "rep_e1", 403),
    ),
)
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
