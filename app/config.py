"""Configuration. Everything a deployment changes comes from the environment."""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'approvals.sqlite'}"
    # Accept the common postgres:// spellings and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, for debug and demo installs only: a second node would
    write its own, and its sessions and CSRF tokens would not be the first one's."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        try:
            with open(path, "x", encoding="ascii") as handle:  # "x": two workers starting at once
                handle.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text(encoding="ascii").strip()


class ConfigurationError(RuntimeError):
    """The environment does not describe a working installation; the message says what to set."""


def _on(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def check_deployment(config: dict) -> None:
    """Refuse to start a production install that would break on a second node: without a shared
    SECRET_KEY, on SQLite, or without the shared rate-limit store and object store, unless
    SINGLE_NODE says that this is the only node."""
    problems = []
    if len(config.get("SECRET_KEY") or "") < 32:
        problems.append("SECRET_KEY must be set to the same random value (at least 32 characters) on every node, "
                        "e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
    if not config["SINGLE_NODE"]:
        if config["DATABASE_URL"].startswith("sqlite"):
            problems.append("SQLite serves one machine only: set DATABASE_URL=postgresql://... or SINGLE_NODE=1")
        if config["RATELIMIT_STORAGE_URI"].startswith("memory"):
            problems.append("the sign-in rate limit must be shared between nodes: set REDIS_URL or SINGLE_NODE=1")
        if not config["S3_BUCKET"]:
            problems.append("attachments must be reachable from every node: set S3_BUCKET (and S3_ENDPOINT_URL) "
                            "or SINGLE_NODE=1")
    if problems:
        raise ConfigurationError("Refusing to start (outside debug and demo mode): " + "; ".join(problems))


def secure_cookies(debug: bool = False, testing: bool = False) -> bool:
    """Whether cookies go only over HTTPS: yes, unless the application runs in debug or test mode, or
    SESSION_COOKIE_SECURE=0 says otherwise (a demo over plain http); SESSION_COOKIE_SECURE=1 insists."""
    setting = os.environ.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if setting:
        return setting not in {"0", "false", "no", "off"}
    return not (debug or testing)


def default_config(instance_path: str) -> dict:
    return {
        # Shared by every node; only debug and demo installs may go without (a key of the instance folder).
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        # DEMO=1: `make demo`'s relaxed checks; SINGLE_NODE=1: a production install on one machine
        # (SQLite, the local attachment folder and an in-process rate limit are then acceptable).
        "DEMO": _on("DEMO"),
        "SINGLE_NODE": _on("SINGLE_NODE"),
        # Proxies in front of the application that set X-Forwarded-For/-Proto/-Host (the load balancer: 1).
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
        "DATABASE_URL": _database_url(instance_path),
        "PROCESSES_DIR": str(ROOT / "processes"),
        # Where the flows are declared (app.flows): every module-level Flow in these packages plugs in;
        # a deployment adds its own packages (comma-separated) to the company's.
        "FLOW_PACKAGES": ("app.domain", *filter(None, os.environ.get("FLOW_PACKAGES", "").replace(" ", "").split(","))),
        "NODE_MODULES_DIR": str(ROOT / "node_modules"),
        # Case attachments, by SHA-256: outside the web root, served only through access checks.
        "ATTACHMENTS_DIR": os.environ.get("ATTACHMENTS_DIR", str(Path(instance_path) / "attachments")),
        # Or, for several nodes, an S3-compatible object store (credentials: the usual AWS_* variables).
        "S3_BUCKET": os.environ.get("S3_BUCKET", ""),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
        "S3_PREFIX": os.environ.get("S3_PREFIX", "attachments/"),
        # Hard bounds on definition text (app.engine.isolation): each evaluation of an expression or a
        # script, and each operation's engine steps and time.
        "SANDBOX_SECONDS": float(os.environ.get("SANDBOX_SECONDS", "2")),
        "SANDBOX_MEMORY_MB": int(os.environ.get("SANDBOX_MEMORY_MB", "256")),
        "ENGINE_STEPS": int(os.environ.get("ENGINE_STEPS", "10000")),
        "ENGINE_SECONDS": float(os.environ.get("ENGINE_SECONDS", "20")),
        # A schedule's firing is one timer worker's for this long without word from it; then another
        # worker resumes it (app.engine.timers).
        "SCHEDULE_LEASE_SECONDS": float(os.environ.get("SCHEDULE_LEASE_SECONDS", "300")),
        # Logs (app.observability): `json` or `text` (default: text in debug, demo and tests, else json).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", ""),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # When set, /metrics wants `Authorization: Bearer <token>`.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # A request may carry a few attachments of at most 10 MB each (app.engine.attachments).
        "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": {"zh": "简体中文", "en": "English"},
        "COMPANY_TIMEZONE": "Asia/Shanghai",
        # argon2 parameters; tests lower them so that seeding stays fast.
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "API_TOKEN_HOURS": 12,
        "PAGE_SIZE": 20,
        # Failed sign-ins allowed per user name and address, the page and the API together, and per
        # address over all user names; several workers need a shared store.
        "LOGIN_FAILURE_LIMIT": os.environ.get("LOGIN_FAILURE_LIMIT", "5 per 5 minutes"),
        "LOGIN_FAILURE_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_FAILURE_LIMIT_PER_ADDRESS", "20 per 5 minutes"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or "memory://",
        # The rate limit's keys in a Redis that other applications (or installs) share.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "approvals"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # On unless SESSION_COOKIE_SECURE=0; the factory turns it off in debug and test mode (plain http).
        "SESSION_COOKIE_SECURE": secure_cookies(),
        "REMEMBER_COOKIE_SECURE": secure_cookies(),  # no remember-me cookie is issued today
        "WTF_CSRF_TIME_LIMIT": None,
        # E-mail for notifications, sent by the timer workers (never by the request that caused it);
        # without SMTP_HOST notifications stay in the application.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "") == "1",
        "MAIL_FROM": os.environ.get("MAIL_FROM", "approvals@localhost"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
    }
