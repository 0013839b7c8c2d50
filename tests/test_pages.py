"""The pages through Flask's test client: sign-in, CSRF, language, inbox states and access gates."""
import re
from datetime import timedelta

from conftest import get_customer, get_user
from sqlalchemy import func, select

from app import db
from app.calendar import clock
from app.domain.customers import DossierRead
from app.engine.models import Event, Task


def file_request(engine, requester: str, customer_code: str):
    """A borrowing case started through the engine, and its first open task."""
    instance = engine.cases.start("dossier_borrowing", get_user(requester),
                            {"customer_id": get_customer(customer_code).id, "purpose": "年度合同复核", "days": 5})
    return instance, open_task(instance.id)


def open_task(instance_id: int) -> Task:
    return db.session.scalar(select(Task).where(Task.instance_id == instance_id, Task.state == "open"))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_pages_need_sign_in(pages):
    response = pages.client.get("/inbox")
    assert response.status_code == 302
    assert "/login" in response.location


def test_wrong_password_is_refused_and_repeated_failures_are_throttled(pages):
    for _ in range(5):
        response = pages.login("rep_e1", "not-the-password")
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    response = pages.login("rep_e1", "not-the-password")
    assert response.status_code == 429
    assert "失败次数过多" in response.get_data(as_text=True)


def test_successful_sign_ins_are_not_throttled(pages):
    for _ in range(8):
        assert pages.login("rep_e1").status_code == 302
        pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})


def test_forms_without_csrf_token_are_refused(pages, ctx, engine):
    assert pages.client.post("/login", data={"username": "rep_e1", "password": "demo"}).status_code == 400
    _, task = file_request(engine, "rep_e2", "HD-E1-001")
    pages.login("rep_e1")
    response = pages.client.post(f"/tasks/{task.id}", data={"decision": "approve", "comment": "ok"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "open"


def test_chinese_by_default_and_english_on_request(pages):
    pages.login("rep_e1")
    assert "暂无待办事项" in pages.client.get("/inbox").get_data(as_text=True)
    pages.submit("/inbox", {"next": "/inbox"}, action="/language/en")
    page = pages.client.get("/inbox").get_data(as_text=True)
    assert "Nothing is waiting for you." in page and "暂无待办事项" not in page


def test_consent_through_the_task_page(pages, ctx, engine):
    instance, task = file_request(engine, "rep_e2", "HD-E1-001")
    pages.login("rep_e1")
    inbox = pages.client.get("/inbox").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in inbox
    page = pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "年度合同复核" in page and "李娜" in page  # why, and who asks

    refused_without_reason = pages.submit(f"/tasks/{task.id}", {"decision": "reject", "comment": ""})
    assert refused_without_reason.status_code == 400
    assert "不同意时请填写理由" in refused_without_reason.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "open"

    done = pages.submit(f"/tasks/{task.id}", {"decision": "approve", "comment": "可以"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "completed"
    assert open_task(instance.id).spec_id == "consent_business_dept"


def test_group_task_is_claimed_before_it_is_decided(pages, ctx, engine):
    instance, task = file_request(engine, "rep_e2", "HD-E1-001")
    engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "approve", "comment": ""})
    group_task = open_task(instance.id)
    pages.login("biz_east")
    assert "可认领" in pages.client.get("/inbox").get_data(as_text=True)
    page = pages.client.get(f"/tasks/{group_task.id}").get_data(as_text=True)
    assert "认领" in page and 'data-testid="task-form"' not in page
    pages.submit(f"/tasks/{group_task.id}", {}, action=f"/tasks/{group_task.id}/claim")
    assert 'data-testid="task-form"' in pages.client.get(f"/tasks/{group_task.id}").get_data(as_text=True)


def test_someone_elses_task_page_is_forbidden(pages, ctx, engine):
    _, task = file_request(engine, "rep_e2", "HD-E1-001")
    pages.login("rep_n1")
    assert pages.client.get(f"/tasks/{task.id}").status_code == 403
    response = pages.submit("/inbox", {"decision": "approve", "comment": ""}, action=f"/tasks/{task.id}")
    assert response.status_code == 403
    assert count(Event) == 2  # instance_started, task_created: nothing more


def test_overdue_tasks_are_marked(pages, ctx, engine):
    _, task = file_request(engine, "rep_e2", "HD-E1-001")
    pages.login("rep_e1")
    assert "已逾期" not in pages.client.get("/inbox").get_data(as_text=True)
    clock.set(task.due_at + timedelta(minutes=1))
    assert "已逾期" in pages.client.get("/inbox").get_data(as_text=True)
    assert "已逾期" in pages.client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_refused_request_tells_the_requester_why(pages, ctx, engine):
    _, task = file_request(engine, "rep_e2", "HD-E1-001")
    engine.cases.complete(task.id, get_user("rep_e1"), {"decision": "reject", "comment": "客户正在谈判，暂不外借"})
    pages.login("rep_e2")
    page = pages.client.get("/requests").get_data(as_text=True)
    assert "未同意" in page and "客户正在谈判，暂不外借" in page and "张伟" in page


def test_dossier_pages_are_gated_and_reads_are_logged(pages, ctx):
    own, other = get_customer("HD-E1-001"), get_customer("HD-E2-001")
    pages.login("rep_e1")
    assert pages.client.get(f"/customers/{own.id}").status_code == 200
    refused = pages.client.get(f"/customers/{other.id}")
    assert refused.status_code == 403 and "借阅该档案" in refused.get_data(as_text=True)
    dossier = pages.client.get(f"/customers/{own.id}")
    assert dossier.headers["Cache-Control"] == "no-store"  # trade secrets stay out of caches
    assert "frame-ancestors 'none'" in dossier.headers["Content-Security-Policy"]
    reads = db.session.scalars(select(DossierRead)).all()
    assert [(r.customer_id, r.ground, r.channel) for r in reads] == [(own.id, "own_territory", "page")] * 2
    assert pages.client.get(f"/customers/{own.id}/access-log").status_code == 200
    assert pages.client.get(f"/customers/{other.id}/access-log").status_code == 403


def test_case_page_only_for_those_involved(pages, ctx, engine):
    instance, _ = file_request(engine, "rep_e2", "HD-E1-001")
    pages.login("rep_e2")
    assert pages.client.get(f"/cases/{instance.id}").status_code == 200
    assert pages.client.get(f"/cases/{instance.id}/diagram.bpmn").status_code == 200
    pages.client.post("/logout", data={"csrf_token": pages.csrf("/inbox")})
    pages.login("rep_n1")
    assert pages.client.get(f"/cases/{instance.id}").status_code == 403
    assert pages.client.get(f"/cases/{instance.id}/diagram.bpmn").status_code == 403


def test_the_top_bar_counts_unread_notifications_up_to_99_plus(pages, ctx):
    """The badge is on every page: it counts only as far as it shows, however many pile up."""
    from app.domain import notifications

    def badge() -> list[str]:
        page = pages.client.get("/inbox").get_data(as_text=True)
        return re.findall(r'data-testid="bar-unread-count">([^<]*)<', page)

    def tell(times: int) -> None:
        for _ in range(times):
            notifications.notify([get_user("rep_e2").id], "task_assigned", clock.now(), task="核对")
        db.session.commit()

    notifications.mark_read(get_user("rep_e2"), clock.now())
    tell(1)
    pages.login("rep_e2")
    assert badge() == ["1"]
    tell(120)
    assert badge() == ["99+"]
    assert notifications.unread_count(get_user("rep_e2")) == 121  # the exact count, for the list and the API
    db.session.commit()
    notifications.mark_read(get_user("rep_e2"), clock.now())
    assert badge() == []


def test_the_menu_offers_the_customer_pages_each_may_open(app):
    from conftest import Browser

    menus = {"rep_e1": {"/leads", "/contracts"}, "mgr_east": {"/leads", "/contracts", "/relationships"},
             "biz_east": set(), "legal": {"/contracts"}, "auditor": {"/leads", "/contracts"}}
    for username, expected in menus.items():
        browser = Browser(app)
        browser.login(username)
        nav = browser.client.get("/inbox").get_data(as_text=True).split("</nav>")[0]
        offered = {path for path in ("/leads", "/contracts", "/relationships") if f'href="{path}"' in nav}
        assert offered == expected, username
        for path in expected:  # what the menu offers opens
            assert browser.client.get(path).status_code == 200, (username, path)
