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
from app.web.operation_forms import AwayForm

bp = Blueprint("me", __name__)


@bp.route("/notifications")
@token_required
def list_notifications():
    result = notifications.page_of(g.api_user, request.args.get("page", 1, type=int), 50)
    return jsonify(unread=notifications.unread_count(g.api_user), items=[
        {"id": n.id, "kind": n.kind, "text": labels.notification_text(n), "instance_id": n.instance_id, "task_id": n.task_id,
         "at": iso(n.at), "read": n.read_at is not None, "comment": n.data.get("comment", "")} for n in result.items])


@bp.route("/notifications/read", methods=["POST"])
@token_required
def read_notifications():
    """{ids: [...]} or {} for all."""
    ids = json_body().get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
        raise InvalidData(_l("Some fields are not valid."), {"ids": [_l("A list of notification ids.")]})
    notifications.mark_read(g.api_user, clock.now(), ids)
    return jsonify(unread=notifications.unread_count(g.api_user))


@bp.route("/me/away", methods=["GET", "POST"])
@token_required
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
