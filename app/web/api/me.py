"""What is about me: my notifications and my away periods."""
from flask import Blueprint, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app import labels
from app.calendar import clock
from app.domain import delegation, notifications
from app.errors import InvalidData
from app.policy import SET_AWAY
from app.web import policy
from app.web.api.common import checked, iso, json_body, token_required
from app.web.api.contract import (
    BOOLEAN,
    INTEGER,
    MOMENT,
    STRING,
    Example,
    Param,
    array,
    component,
    error,
    nullable,
    obj,
    operation,
)
from app.web.operation_forms import AwayForm

bp = Blueprint("me", __name__)

UNREAD = {"unread": INTEGER}
AWAY_PERIOD = component("AwayPeriod", obj({"id": INTEGER, "person": STRING, "deputy": STRING, "starts_at": MOMENT,
                                           "ends_at": MOMENT, "processes": array(STRING)}))


@bp.route("/notifications")
@token_required
@operation(
    summary="My notifications",
    query=(Param("page", {"type": "integer", "minimum": 1, "default": 1}),),
    responses={200: ("The unread count and a page (50) of notifications, newest first.", obj({**UNREAD, "items": array(obj({
        "id": INTEGER, "kind": STRING, "text": STRING, "instance_id": nullable(INTEGER), "task_id": nullable(INTEGER),
        "at": MOMENT, "read": BOOLEAN, "comment": STRING}))}))},
    examples=(Example("mine", "rep_e1's notifications", "rep_e1", 200),),
)
def list_notifications():
    """New tasks, transfers, signers, urges, copies, send-backs, deadlines …, in the caller's language."""
    result = notifications.page_of(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify(unread=notifications.unread_count(g.api_user), items=[
        {"id": n.id, "kind": n.kind, "text": labels.notification_text(n), "instance_id": n.instance_id, "task_id": n.task_id,
         "at": iso(n.at), "read": n.read_at is not None, "comment": n.data.get("comment", "")} for n in result.items])


@bp.route("/notifications/read", methods=["POST"])
@token_required
@operation(
    summary="Mark notifications read",
    body=obj({"ids": array(INTEGER)}, optional=("ids",)),
    responses={200: ("The unread count left.", obj(UNREAD))},
    errors=(400,),
    examples=(
        Example("all", "rep_e1 marks them all read", "rep_e1", 200, body={}, response={"unread": 0}),
        Example("not_ids", "Ids that are not numbers", "rep_e1", 400, body={"ids": ["one"]},
                response=error("invalid", "Some fields are not valid.", {"ids": ["A list of notification ids."]})),
    ),
)
def read_notifications():
    """{ids: [...]} or {} for all; the unread count left."""
    ids = json_body().get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
        raise InvalidData(_l("Some fields are not valid."), {"ids": [_l("A list of notification ids.")]})
    notifications.mark_read(g.api_user, clock.now(), ids)
    return jsonify(unread=notifications.unread_count(g.api_user))


@bp.route("/me/away", methods=["GET", "POST"])
@token_required
@operation("GET", summary="My away periods",
           responses={200: ("The caller's away periods, and those he is deputy in.", array(AWAY_PERIOD))},
           examples=(Example("mine", "rep_e1's away periods", "rep_e1", 200),))
@operation(
    "POST",
    summary="Set an away period",
    body=AwayForm,
    responses={201: ("The away periods, with the new one.", array(AWAY_PERIOD))},
    errors=(400, 403),
    examples=(
        Example("away", "rep_e1 is away for a week, biz_east deputises", "rep_e1", 201,
                body={"deputy": "biz_east", "starts_at": "2026-12-07T00:00", "ends_at": "2026-12-12T00:00"}),
        Example("for_someone", "A rep sets one for someone else", "rep_e1", 403,
                body={"person": "rep_e2", "deputy": "biz_east", "starts_at": "2026-12-07T00:00",
                      "ends_at": "2026-12-12T00:00"}),
        Example("no_deputy", "Without a deputy", "rep_e1", 400,
                body={"starts_at": "2026-12-07T00:00", "ends_at": "2026-12-12T00:00"},
                response=error("invalid", "Some fields are not valid.", {"deputy": ["This field is required."]})),
    ),
)
def away_periods():
    """GET: my away periods (and those I am deputy in); POST {deputy, starts_at, ends_at (company time),
    processes: [keys], person (administrators: someone else)}."""
    if request.method == "POST":
        form = checked(AwayForm)
        starts_at, ends_at = form.period()
        person = form.person.person or g.api_user
        policy().require(g.api_user, SET_AWAY, person)
        delegation.set_period(person, form.deputy.person, starts_at, ends_at, form.processes.data, g.api_user,
                              clock.now())
    return jsonify([{"id": p.id, "person": p.user.username, "deputy": p.deputy.username, "starts_at": iso(p.starts_at),
                     "ends_at": iso(p.ends_at), "processes": p.process_keys}
                    for p in delegation.periods_of(g.api_user, clock.now())]), 201 if request.method == "POST" else 200
