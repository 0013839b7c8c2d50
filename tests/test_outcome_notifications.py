"""The initiator hears how his case ended (issue 16): approved, refused with who and why, terminated by
an administrator, and sent back to him; a complaint's recorder when the customer has been answered; in
the application and by e-mail."""
from datetime import UTC, datetime

import pytest
from conftest import get_customer, get_user
from sqlalchemy import select
from test_complaints import FEEDBACK, act, through_investigation

from app import db, labels
from app.calendar import clock
from app.domain import notifications
from app.domain.notifications import Notification
from app.engine.models import OPEN, Task
from app.engine.operations import REQUEST
from app.mail import send_pending

APPROVE = {"decision": "approve", "comment": "同意"}
REFUSE = {"decision": "reject", "comment": "借阅目的不明确"}


@pytest.fixture(autouse=True)
def march(ctx):
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


def borrow(engine, username="rep_e2"):
    return engine.cases.start("dossier_borrowing", get_user(username),
                              {"customer_id": get_customer("HD-E1-001").id, "purpose": "季度拜访准备", "days": 5})


def open_task(instance):
    db.session.expire_all()
    return db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))


def told(username: str, kind: str = "case_ended") -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == get_user(username).id,
                                                              Notification.kind == kind).order_by(Notification.id)))


def test_a_refused_request_tells_the_requester_who_refused_and_why(engine):
    instance = borrow(engine)
    engine.cases.complete(open_task(instance).id, get_user("rep_e1"), REFUSE)
    [ended] = told("rep_e2")
    assert ended.instance_id == instance.id and ended.data["comment"] == "借阅目的不明确"
    assert labels.notification_text(ended) == f"您的案件 {instance.id} 已结束：未同意，办理人：张伟"
    assert told("rep_e1") == []  # not the one who decided


def test_an_approved_request_tells_the_requester(engine):
    instance = borrow(engine)
    engine.cases.complete(open_task(instance).id, get_user("rep_e1"), APPROVE)
    assert told("rep_e2") == []  # not before the case ends
    business = open_task(instance)
    engine.cases.claim(business.id, get_user("biz_east"))
    engine.cases.complete(business.id, get_user("biz_east"), {"decision": "approve", "comment": "同意借阅"})
    [ended] = told("rep_e2")
    assert (ended.data["outcome"], ended.data["by"], ended.data["comment"]) == ("approved", "刘洋", "同意借阅")
    assert "已批准" in labels.notification_text(ended)


def test_an_administrators_termination_tells_the_initiator_with_the_reason(engine):
    instance = borrow(engine)
    engine.admin.terminate(instance.id, get_user("admin"), "客户已注销，无需借阅")
    [ended] = told("rep_e2")
    assert (ended.data["outcome"], ended.data["comment"]) == ("terminated", "客户已注销，无需借阅")
    assert labels.notification_text(ended) == f"您的案件 {instance.id} 已结束：已终止，办理人：系统管理员"


def test_a_request_sent_back_tells_the_requester(engine):
    instance = borrow(engine)
    engine.operations.send_back(open_task(instance).id, get_user("rep_e1"), REQUEST, "请写明借阅范围")
    [back] = told("rep_e2", "sent_back")
    assert back.data["comment"] == "请写明借阅范围" and told("rep_e2") == []


def test_the_end_is_mailed_and_listed_in_the_api(engine, app, api, smtp_sink):
    get_user("rep_e2").email = "lina@example.com"
    db.session.commit()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port)
    try:
        instance = borrow(engine)
        send_pending()  # the rep's new task
        smtp_sink.messages.clear()
        engine.cases.complete(open_task(instance).id, get_user("rep_e1"), REFUSE)
        assert send_pending() == 1
        [message] = smtp_sink.messages
        assert message["To"] == "lina@example.com"
        assert message["Subject"] == f"您的案件 {instance.id} 已结束：未同意，办理人：张伟"
        assert "借阅目的不明确" in message.get_content()
    finally:
        app.config.update(SMTP_HOST="")
        get_user("rep_e2").email = None
        db.session.commit()
    listed = api.get("/notifications", "rep_e2").get_json()["items"]
    assert listed[0]["kind"] == "case_ended" and "未同意" in listed[0]["text"]
    assert notifications.unread_count(get_user("rep_e2")) == 1  # his case's end (its tasks were others')


def test_a_complaints_recorder_hears_that_the_customer_was_answered(api):
    case_id = through_investigation(api)
    act(api, case_id, "handle_general", "salesmgr_east", {"actions": "更换承运车队，下周起专车配送"})
    assert told("rep_e1") == []
    act(api, case_id, "feedback_general", "salesmgr_east", FEEDBACK)
    [ended] = told("rep_e1")
    assert ended.instance_id == case_id and ended.data["outcome"] == "resolved"
    assert labels.notification_text(ended) == f"您的案件 {case_id} 已结束：已解决，办理人：周杰"
