"""Signing in and out, and the language switch."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
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


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def login_limit_key() -> str:
    """Failed sign-ins are counted per user name and address, on the page and the API alike."""
    payload = request.get_json(silent=True) if request.is_json else request.form
    username = payload.get("username", "") if hasattr(payload, "get") else ""
    return f"login:{request.remote_addr}:{str(username).strip().lower()}"


def login_limit():
    return limiter.limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], key_func=login_limit_key,
                         methods=["POST"], deduct_when=lambda response: response.status_code == 401)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.inbox")


@bp.route("/login", methods=["GET", "POST"])
@login_limit()
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.inbox"))
    form = LoginForm()
    if form.validate_on_submit():
        user = current_app.extensions["accounts"].authenticate(form.username.data.strip(), form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_l("Wrong user name or password."), "danger")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
