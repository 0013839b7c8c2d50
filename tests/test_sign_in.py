"""Signing in and out (security review, issue 15): a session ends at sign-out even if its cookie was
copied, the page and the API share one failure counter per user name, one address cannot spray a
password over many user names, and the session cookie goes only over HTTPS outside debug and tests."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Browser, get_user
from flask import Flask, session
from sqlalchemy import update

from app import config as app_config
from app import db
from app.domain import demo
from app.engine.directory import User

ROOT = Path(__file__).resolve().parent.parent


def sign_out(pages):
    return pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})


@pytest.fixture(autouse=True)
def _restore_generations(app):
    """Every user's session generation back to 0, as seeded (the conftest does not reset it)."""
    yield
    with app.app_context():
        db.session.execute(update(User).values(session_generation=0))
        db.session.commit()


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


# -- sign-out ends the session ----------------------------------------------------------------------

def test_a_session_cookie_copied_before_sign_out_no_longer_signs_in(app, pages):
    assert pages.login("rep_e1").status_code == 302
    copy = session_cookie(pages.client)
    thief = app.test_client()
    thief.set_cookie("session", copy)
    assert thief.get("/inbox").status_code == 200  # the copy works while the session lasts

    assert sign_out(pages).status_code == 302

    response = thief.get("/inbox")
    assert response.status_code == 302
    assert "/login" in response.location
    replay = app.test_client()  # a fresh browser with only the copied cookie
    replay.set_cookie("session", copy)
    response = replay.get("/inbox")
    assert response.status_code == 302 and "/login" in response.location


def test_signing_out_ends_the_users_other_sessions_and_signing_in_again_works(app, pages):
    other_device = Browser(app)
    assert other_device.login("rep_e1").status_code == 302
    pages.login("rep_e1")
    assert other_device.client.get("/inbox").status_code == 200

    sign_out(pages)

    assert other_device.client.get("/inbox").status_code == 302
    assert pages.login("rep_e1").status_code == 302
    assert pages.client.get("/inbox").status_code == 200
    with app.app_context():
        assert get_user("rep_e1").session_generation >= 1
        assert get_user("rep_e2").session_generation == 0  # nobody else is signed out


def test_a_session_without_a_generation_is_refused(app, pages):
    """A session that names a user but not the generation it began under (made before this check, or
    restored by some other path) does not sign in."""
    with app.app_context():
        user_id = get_user("rep_e1").id
    with pages.client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = str(user_id)
        cookie_session["_fresh"] = True
    response = pages.client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.location


# -- one failure counter for the page and the API ---------------------------------------------------

def token_status(client, username: str, password: str, address: str = "127.0.0.1") -> int:
    return client.post("/api/v1/tokens", json={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": address}).status_code


def test_failures_on_the_page_count_for_the_api(api, pages):
    assert [pages.login("rep_e1", "wrong").status_code for _ in range(5)] == [401] * 5

    assert token_status(api.client, "rep_e1", demo.DEMO_PASSWORD) == 429  # the right password waits too
    assert token_status(api.client, "rep_e2", demo.DEMO_PASSWORD) == 201  # another user name is not held up


def test_failures_on_the_api_count_for_the_page(api, pages):
    assert [token_status(api.client, "rep_e1", "wrong") for _ in range(5)] == [401] * 5

    response = pages.login("rep_e1")
    assert response.status_code == 429
    assert "失败次数过多" in response.get_data(as_text=True)
    assert pages.login("rep_e2").status_code == 302


def test_failures_split_between_page_and_api_are_added_up(api, pages):
    assert [pages.login("rep_e1", "wrong").status_code for _ in range(3)] == [401] * 3
    assert [token_status(api.client, "rep_e1", "wrong") for _ in range(2)] == [401] * 2

    assert token_status(api.client, "rep_e1", demo.DEMO_PASSWORD) == 429
    assert pages.login("rep_e1").status_code == 429


# -- one address over many user names ---------------------------------------------------------------

def test_one_password_sprayed_over_many_user_names_is_turned_away(api, pages):
    names = [f"nobody{n:02}" for n in range(20)]
    assert [pages.login(name, "Spring2026!").status_code for name in names[:10]] == [401] * 10
    assert [token_status(api.client, name, "Spring2026!") for name in names[10:]] == [401] * 10

    assert pages.login("rep_e1", "Spring2026!").status_code == 429  # a 21st user name
    assert token_status(api.client, "rep_e2", demo.DEMO_PASSWORD) == 429  # from this address, even rightly
    assert token_status(api.client, "rep_e2", demo.DEMO_PASSWORD, address="10.1.2.3") == 201  # elsewhere: fine


def test_successful_sign_ins_do_not_count_for_the_address(api, pages, monkeypatch, app):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT_PER_ADDRESS", "3 per 5 minutes")
    for name in ("rep_e1", "rep_e2", "rep_n1", "auditor", "rep_e1"):
        assert token_status(api.client, name, demo.DEMO_PASSWORD) == 201
    assert pages.login("rep_e2").status_code == 302


def test_the_right_password_works_again_once_the_window_has_passed(api, pages, monkeypatch, app):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "2 per 1 second")
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT_PER_ADDRESS", "3 per 1 second")
    assert [token_status(api.client, "rep_e1", "wrong") for _ in range(2)] == [401] * 2
    assert pages.login("nobody", "wrong").status_code == 401
    assert token_status(api.client, "rep_e1", demo.DEMO_PASSWORD) == 429
    assert pages.login("rep_e2").status_code == 429  # the address's limit

    time.sleep(1.2)

    assert token_status(api.client, "rep_e1", demo.DEMO_PASSWORD) == 201
    assert pages.login("rep_e1").status_code == 302


# -- Secure cookies ---------------------------------------------------------------------------------

def test_cookies_are_secure_unless_debug_testing_or_turned_off(monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert app_config.secure_cookies() is True
    assert app_config.secure_cookies(debug=True) is False
    assert app_config.secure_cookies(testing=True) is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert app_config.secure_cookies() is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert app_config.secure_cookies(debug=True, testing=True) is True


def test_a_production_like_config_sends_the_session_cookie_only_over_https(monkeypatch, tmp_path):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("SECRET_KEY", "probe")
    config = app_config.default_config(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    probe = Flask("probe")
    probe.config.update(config)

    @probe.route("/")
    def touch():
        session["seen"] = True
        return "ok"

    set_cookie = probe.test_client().get("/").headers["Set-Cookie"]
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert app_config.default_config(str(tmp_path))["SESSION_COOKIE_SECURE"] is False


def test_the_test_app_speaks_plain_http(app, pages):
    assert app.config["SESSION_COOKIE_SECURE"] is False
    response = pages.login("rep_e1")
    assert "Secure" not in response.headers["Set-Cookie"]


def test_the_factory_turns_secure_cookies_on_except_in_debug_or_when_turned_off(tmp_path):
    """The real factory in a process of its own (a second app here would rebind the shared extensions)."""
    script = """
import json, os
from app import create_app
seen = {}
seen["production"] = create_app()
os.environ["SESSION_COOKIE_SECURE"] = "0"
seen["turned_off"] = create_app()
del os.environ["SESSION_COOKIE_SECURE"]
os.environ["FLASK_DEBUG"] = "1"
seen["debug"] = create_app()
del os.environ["FLASK_DEBUG"]
seen["testing"] = create_app({"TESTING": True})
print(json.dumps({name: [a.config["SESSION_COOKIE_SECURE"], a.config["REMEMBER_COOKIE_SECURE"]]
                  for name, a in seen.items()}))
"""
    env = {key: value for key, value in os.environ.items()
           if key not in {"SESSION_COOKIE_SECURE", "FLASK_DEBUG", "FLASK_ENV"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite'}", SECRET_KEY="probe-" + "0" * 32,
               ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "production": [True, True], "turned_off": [False, False], "debug": [False, False],
        "testing": [False, False]}
