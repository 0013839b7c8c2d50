"""The application factory: configuration, the database, the flows plugged into the engine, the
policy, the blueprints, templating and error pages."""
import logging
import os
import threading
from datetime import datetime, timedelta

from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
)
from flask.globals import app_ctx
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from app import db, flows, observability
from app.calendar import clock, local_text
from app.config import check_deployment, default_config, instance_secret_key, secure_cookies
from app.domain.accounts import Accounts
from app.engine import file_stores
from app.engine.isolation import Limits
from app.engine.queries import inbox_count
from app.engine.runtime import Engine
from app.errors import AppError
from app.extensions import babel, csrf, limiter, login_manager, migrate

log = logging.getLogger(__name__)


class Application(Flask):
    """Flask, with SQLite's write lock taken only by requests that write: a page or an API read
    begins its transaction deferred and never waits for a writer. A read request that writes after
    all (a dossier read is logged) and finds that another writer came first is replayed once, queued
    for the lock."""

    def full_dispatch_request(self):
        with db.lazy_write_lock(request.method in READ_METHODS and db.dialect() == "sqlite"):
            return super().full_dispatch_request()

    def dispatch_request(self):
        try:
            return super().dispatch_request()
        except OperationalError as exc:
            if not (db.is_write_conflict(exc) and db.writes_lazily()):
                raise
            db.session.rollback()
            log.info("a read request's write met another writer, replaying it")
        with db.lazy_write_lock(False):
            return super().dispatch_request()


READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def create_app(config: dict | None = None) -> Flask:
    app = Application(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(default_config(app.instance_path))
    app.config.update(config or {})
    if app.debug or app.testing or app.config["DEMO"]:
        app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or instance_secret_key(app.instance_path)
    else:
        check_deployment(app.config)
    if app.config["PROXY_HOPS"]:
        # The client's address, scheme and host as the load balancer saw them: the rate limit counts
        # per real address, and redirects and cookies use the public URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"],
                                x_host=app.config["PROXY_HOPS"])
    if "SESSION_COOKIE_SECURE" not in (config or {}):  # debug and test servers speak plain http
        app.config["SESSION_COOKIE_SECURE"] = secure_cookies(app.debug, app.testing)
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    observability.init_app(app)  # first: its request hooks run before and after every other one
    _open_database(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in first.")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)
    _plug_in_flows(app)

    from app.web import (
        admin,
        api,
        assets,
        auth,
        cases,
        complaints,
        compliance,
        contracts,
        customers,
        leads,
        me,
        modeler,
        relationships,
        tasks,
    )
    for blueprint in (auth.bp, tasks.bp, cases.bp, me.bp, customers.bp, complaints.bp, compliance.bp, admin.bp,
                      modeler.bp, assets.bp, leads.bp, relationships.bp, contracts.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    for resource in api.RESOURCES:
        csrf.exempt(resource.bp)  # bearer tokens, no cookies: nothing for CSRF to protect
    from app.web import health, metrics
    for blueprint in (health.bp, metrics.bp):  # probes and scrapers: no CSRF, no rate limit
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
        limiter.exempt(blueprint)

    from app import cli
    cli.register(app)
    cli.register_audit(app)
    _register_templating(app)
    _register_error_pages(app)
    app.after_request(_security_headers)
    return app


# bpmn-js sets inline styles and uses data: images; nothing else is loaded from anywhere but here.
CONTENT_SECURITY_POLICY = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                           "font-src 'self' data:; frame-ancestors 'none'; form-action 'self'")


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static" and not request.path.startswith("/vendor/"):
        # Dossiers and cases are trade secrets: no copies in browser or proxy caches.
        response.headers["Cache-Control"] = "no-store"
    return response


def _select_locale() -> str:
    """Simplified Chinese unless the user chose English."""
    if not has_request_context():  # CLI commands, workers: messages in the company's language
        return "zh"
    if current_user.is_authenticated and current_user.locale:
        return current_user.locale
    return session.get("locale", "zh")


def _plug_in_flows(app: Flask) -> None:
    """The engine with every flow plugged in, the policy that answers for them, and the accounts."""
    config = app.config
    extensions, policy, plugged = flows.plug_in(config["FLOW_PACKAGES"], mail=lambda: bool(config["SMTP_HOST"]))
    app.extensions["engine"] = Engine(clock, extensions, file_stores.from_config(config),
                                      Limits(seconds=config["SANDBOX_SECONDS"], memory_mb=config["SANDBOX_MEMORY_MB"],
                                             steps=config["ENGINE_STEPS"], operation_seconds=config["ENGINE_SECONDS"]),
                                      timedelta(seconds=config["SCHEDULE_LEASE_SECONDS"]))
    app.extensions["policy"] = policy
    app.extensions["flows"] = plugged
    app.extensions["accounts"] = Accounts(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"],
                                          config["API_TOKEN_HOURS"])


def _open_database(app: Flask) -> None:
    """The application's engine, and a session for each application context (each request, each
    command), closed when the context ends."""
    app.extensions["database"] = db.connect(app.config["DATABASE_URL"])
    db.serve(engine_of_context=lambda: current_app.extensions["database"] if has_app_context() else None,
             scope=lambda: id(app_ctx._get_current_object()) if has_app_context() else threading.get_ident())
    app.teardown_appcontext(lambda _exc: db.session.remove())


def _register_templating(app: Flask) -> None:
    from app import labels

    # Company time, the same digits in every language (and far cheaper than Babel's formatter).
    app.add_template_filter(local_text, "local")

    @app.template_filter("role_label")
    def role_label(code):
        return labels.label(labels.ROLES, code)

    @app.template_filter("duration")
    def duration(spent):
        """A time spent, short: minutes, hours, or days."""
        hours = spent.total_seconds() / 3600
        if hours < 1:
            return f"{round(hours * 60)} min"
        return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"

    @app.template_filter("fromiso")
    def from_iso(text):
        return datetime.fromisoformat(text) if text else None

    @app.context_processor
    def inject():
        if "inbox_waiting" in g:
            waiting = g.inbox_waiting
        else:
            waiting = inbox_count(current_user) if current_user.is_authenticated else 0
        return {"now": clock.now(), "labels": labels, "languages": app.config["LANGUAGES"],
                "locale": str(get_locale()), "inbox_waiting": waiting,
                "comment_fields": app.extensions["engine"].extensions.comment_fields}


def _messages(errors):
    """Field errors as JSON: a list of rows (WTForms' FieldList) keeps each row's errors by field;
    rows without errors are left out."""
    if isinstance(errors, dict):
        return {key: _messages(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [_messages(item) for item in errors if item]
    return str(errors)


def _register_error_pages(app: Flask) -> None:
    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        if wants_json():
            return jsonify(error={"code": exc.code, "message": str(exc.message),
                                  "fields": _messages(exc.fields)}), exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 429:
            message = _l("Too many failed attempts. Please wait a few minutes and try again.")
        else:
            message = exc.description
        if wants_json():
            return jsonify(error={"code": exc.name.lower().replace(" ", "_"), "message": str(message),
                                  "fields": {}}), exc.code
        return render_template("error.html", status=exc.code, message=message), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        reference = observability.current_request_id()  # support finds the request's every log line by it
        log.exception("unexpected error, reference %s", reference)
        message = _l("Something went wrong on our side. Quote reference %(ref)s to support.", ref=reference)
        if wants_json():
            return jsonify(error={"code": "internal", "message": str(message), "fields": {},
                                  "reference": reference}), 500
        return render_template("error.html", status=500, message=message), 500
