"""POST /tokens {username, password} → 201 {token}: the bearer token every other call sends."""
from flask import Blueprint, current_app, jsonify
from flask_babel import lazy_gettext as _l

from app.calendar import clock
from app.web.api.common import Unauthorized, json_body
from app.web.api.contract import STRING, Example, error, obj, operation
from app.web.auth import login_limit

bp = Blueprint("tokens", __name__)


@bp.route("/tokens", methods=["POST"])
@login_limit  # the same counters as the sign-in page: a failure on either counts for both
@operation(
    summary="Sign in for a token",
    body=obj({"username": STRING, "password": {"type": "string", "format": "password"}}),
    responses={201: ("The bearer token every other call sends.", obj({"token": STRING}))},
    errors=(400, 401, 429),
    examples=(
        Example("sign_in", "rep_e1 signs in", None, 201, body={"username": "rep_e1", "password": "demo"},
                response={"token": "q0Z7n3-bHk2V…"}),
        Example("wrong_password", "A wrong password", None, 401, body={"username": "rep_e1", "password": "guess"},
                response=error("unauthorized", "Wrong user name or password.")),
        Example("not_json", "A body that is not a JSON object", None, 400, body=["rep_e1", "demo"],
                response=error("invalid", "The request body must be a JSON object.")),
    ),
)
def create_token():
    """The user name and password of the sign-in page. Failed attempts count per user name and address,
    the page and the API together (`LOGIN_FAILURE_LIMIT`); past the limit every attempt answers 429."""
    body = json_body()
    accounts = current_app.extensions["accounts"]
    user = accounts.authenticate(str(body.get("username", "")).strip(), str(body.get("password", "")))
    if user is None:
        raise Unauthorized(_l("Wrong user name or password."))
    return jsonify(token=accounts.issue_token(user, clock.now())), 201
