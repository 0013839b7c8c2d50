"""Signing in and out, and the language switch."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app import db
from app.domain.org import User
from app.extensions import limiter, login_manager
from app.web import refuse_changes_by_reviewers

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


# What a compliance reviewer may post: his own session and language.
OPEN_TO_REVIEWERS = {"auth.login", "auth.logout", "auth.set_language"}


@bp.before_app_request
def reviewers_change_nothing():
    if "api" in request.blueprints:  # bearer tokens: the API checks its own user (api.token_required)
        return
    if current_user.is_authenticated and request.endpoint not in OPEN_TO_REVIEWERS:
        refuse_changes_by_reviewers(current_user)


# The session remembers the user's session generation at sign-in; signing out raises it, so that a copy
# of the cookie taken before no longer signs anyone in.
SESSION_GENERATION = "session_generation"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user of this session (Flask-Login asks for every request that carries one), or
    None if the session began before his last sign-out."""
    try:
        # With his roles: every page asks the policy, which reads them.
        user = db.session.get(User, int(user_id), options=[joinedload(User.memberships)])
    except (TypeError, ValueError):
        return None
    if user is None or session.get(SESSION_GENERATION) != user.session_generation:
        return None
    return user


def _sign_in(user: User) -> None:
    login_user(user)
    session[SESSION_GENERATION] = user.session_generation


def _end_sessions_of(user: User) -> None:
    """Every session of the user ends: the ones on other devices and any copied cookie too."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    db.session.commit()


def _username_tried() -> str:
    payload = request.get_json(silent=True) if request.is_json else request.form
    username = payload.get("username", "") if hasattr(payload, "get") else ""
    return str(username).strip().lower()


def login_limit_key() -> str:
    """Failed sign-ins are counted per user name and address, on the page and the API alike."""
    return f"login:{request.remote_addr}:{_username_tried()}"


def login_address_key() -> str:
    """… and per address whatever the user name (one password tried over many names)."""
    return f"login-address:{request.remote_addr}"


def _failed(response) -> bool:
    return response.status_code == 401


# One counter each for the sign-in page and the API (a shared scope, not one per endpoint): a failure on
# either counts for both. Only failures count; once a limit is reached even the right password waits.
_FAILURES_PER_USER = limiter.shared_limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], scope="login",
                                          key_func=login_limit_key, methods=["POST"], deduct_when=_failed)
_FAILURES_PER_ADDRESS = limiter.shared_limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"],
                                             scope="login-address", key_func=login_address_key,
                                             methods=["POST"], deduct_when=_failed)


def login_limit(view):
    """The sign-in limits, for each view that checks a password (the page and POST /api/v1/tokens)."""
    return _FAILURES_PER_USER(_FAILURES_PER_ADDRESS(view))


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.inbox")


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.inbox"))
    form = LoginForm()
    if form.validate_on_submit():
        user = current_app.extensions["accounts"].authenticate(form.username.data.strip(), form.password.data)
        if user is not None:
            _sign_in(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_l("Wrong user name or password."), "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    _end_sessions_of(current_user)
    logout_user()
    session.pop(SESSION_GENERATION, None)
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
