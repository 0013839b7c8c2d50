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


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else a random one kept in the instance folder (never a shipped value)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        try:
            with open(path, "x", encoding="ascii") as handle:  # "x": two workers starting at once
                handle.write(secrets.token_hex(32))
            path.chmod(0o600)
        except FileExistsError:
            pass
    return path.read_text(encoding="ascii").strip()


def secure_cookies(debug: bool = False, testing: bool = False) -> bool:
    """Whether cookies go only over HTTPS: yes, unless the application runs in debug or test mode, or
    SESSION_COOKIE_SECURE=0 says otherwise (a demo over plain http); SESSION_COOKIE_SECURE=1 insists."""
    setting = os.environ.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if setting:
        return setting not in {"0", "false", "no", "off"}
    return not (debug or testing)


def default_config(instance_path: str) -> dict:
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "DATABASE_URL": _database_url(instance_path),
        "PROCESSES_DIR": str(ROOT / "processes"),
        # Where the flows are declared (app.flows): every module-level Flow in these packages plugs in;
        # a deployment adds its own packages (comma-separated) to the company's.
        "FLOW_PACKAGES": ("app.domain", *filter(None, os.environ.get("FLOW_PACKAGES", "").replace(" ", "").split(","))),
        "NODE_MODULES_DIR": str(ROOT / "node_modules"),
        # Case attachments, by SHA-256: outside the web root, served only through access checks.
        "ATTACHMENTS_DIR": os.environ.get("ATTACHMENTS_DIR", str(Path(instance_path) / "attachments")),
        # Hard bounds on definition text (app.engine.isolation): each evaluation of an expression or a
        # script, and each operation's engine steps and time.
        "SANDBOX_SECONDS": float(os.environ.get("SANDBOX_SECONDS", "2")),
        "SANDBOX_MEMORY_MB": int(os.environ.get("SANDBOX_MEMORY_MB", "256")),
        "ENGINE_STEPS": int(os.environ.get("ENGINE_STEPS", "10000")),
        "ENGINE_SECONDS": float(os.environ.get("ENGINE_SECONDS", "20")),
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
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
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
