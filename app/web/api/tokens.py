"""POST /tokens {username, password} → 201 {token}: the bearer token every other call sends."""
from flask import Blueprint, current_app, jsonify
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.web.api.common import Unauthorized, json_body
from app.web.auth import login_limit

bp = Blueprint("tokens", __name__)


@bp.route("/tokens", methods=["POST"])
@login_limit  # the same counters as the sign-in page: a failure on either counts for both
def create_token():
    body = json_body()
    accounts = current_app.extensions["accounts"]
    user = accounts.authenticate(str(body.get("username", "")).strip(), str(body.get("password", "")))
    if user is None:
        raise Unauthorized(_l("Wrong user name or password."))
    return jsonify(token=accounts.issue_token(user, clock.now())), 201
