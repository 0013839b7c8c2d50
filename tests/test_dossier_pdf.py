"""The compliance reviewer's PDF dossier of a case (issue 7): real borrowing and complaint cases run
through the engine, rendered, and read back with pypdf — its text (pypdf extracts the STSong-Light
Chinese text, so the assertions are on what a reader sees) and the diagram page's drawing operators."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from conftest import case_entries, edit, get_customer, get_user
from flask_babel import force_locale, gettext
from pypdf import PdfReader
from reportlab.lib.rl_accel import fp_str
from sqlalchemy import select

from app import db, labels
from app.calendar import clock
from app.engine.models import OPEN, Instance, Task
from app.read import timeline
from app.web import dossier_pdf

PROCESS = "dossier_borrowing"
E1_CUSTOMER = "HD-E1-001"
PURPOSE = "核对月度采购分析，准备季度拜访"
REP_STEP, BUSINESS_STEP, MANAGER_STEP = "片区销售代表同意", "业务部主管同意", "分公司经理同意"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.fixture
def in_request(ctx):
    """Rendering and the labels it is checked against, in one request's language (Chinese by default)."""
    with ctx.test_request_context():
        yield


# -- helpers ---------------------------------------------------------------------------------------

def start(engine, requester: str, purpose: str = PURPOSE) -> Instance:
    clock.set(T0)
    return engine.cases.start(PROCESS, get_user(requester), {"customer_id": get_customer(E1_CUSTOMER).id,
                                                        "purpose": purpose, "days": 7})


def decide(engine, instance: Instance, username: str, decision: str, comment: str, at: datetime) -> None:
    """At `at`, `username` takes the case's open task (claiming it if offered to a group) and decides."""
    clock.set(at)
    task = db.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN)).one()
    user = get_user(username)
    if task.assignee_id is None:
        engine.cases.claim(task.id, user)
    engine.cases.complete(task.id, user, {"decision": decision, "comment": comment})


def dossier(instance: Instance, *, chain_verified: bool = True, reads: list | None = None) -> bytes:
    return dossier_pdf.render(instance, case_entries(instance), timeline.path(instance, clock.now()),
                              chain_verified=chain_verified, reads=reads or [], generated_at=clock.now())


def squeezed(text: str) -> str:
    """Text without white space: table cells wrap lines wherever the width ends."""
    return re.sub(r"\s+", "", text)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(BytesIO(pdf), strict=True)


def text_of(pages) -> str:
    return squeezed("".join(page.extract_text() for page in pages))


def diagram_page(reader: PdfReader):
    """The diagrams of these processes are wider than tall: theirs is the one landscape page."""
    pages = [page for page in reader.pages if page.mediabox.width > page.mediabox.height]
    assert len(pages) == 1
    return pages[0]


def strokes_in(page, color) -> int:
    """How often the page's content strokes in this colour (the PDF operator RG)."""
    return page.get_contents().get_data().count(f"{fp_str(*color.rgb())} RG".encode())


def assert_shows(text: str, *expected) -> None:
    for value in expected:
        assert squeezed(str(value)) in text, value


# -- the dossier of a finished case ----------------------------------------------------------------

def test_an_approved_loans_dossier_says_who_decided_what_and_when_and_draws_the_path(engine, in_request):
    instance = start(engine, "rep_e2")
    decide(engine, instance, "rep_e1", "approve", "同意，注意保密", T0 + timedelta(hours=1))
    decide(engine, instance, "biz_east", "approve", "限阅三天以内", T0 + timedelta(hours=3, minutes=30))
    clock.set(T0 + timedelta(hours=5))
    path = timeline.path(instance, clock.now())

    reader = read(dossier(instance, reads=[(T0 + timedelta(hours=4), "李娜", "api")]))
    text = text_of(reader.pages)
    assert len(reader.pages) >= 2

    # Title: the case, its process and version, how it ended, who started it and when, the chain.
    assert_shows(text, f"#{instance.id}", instance.definition.name, labels.STATUSES["completed"],
                 labels.OUTCOMES["approved"], "李娜 (rep_e2)", "2026-03-02 09:00", instance.chain_head,
                 "2026-03-02 14:00")  # generated
    # The case's data as filed.
    assert_shows(text, E1_CUSTOMER, "上海浦江石化贸易有限公司", PURPOSE)
    # Decisions: each step with who, when, the decision and the comment.
    assert_shows(text, REP_STEP, "张伟 (rep_e1)", "2026-03-02 10:00", labels.DECISIONS["approve"], "同意，注意保密",
                 BUSINESS_STEP, "刘洋 (biz_east)", "2026-03-02 12:30", "限阅三天以内")
    # Timeline: every event by its label and the start of its hash, with the actors' roles and units,
    # to the second; another level's comment is not a change of this one's.
    for entry in case_entries(instance):
        assert_shows(text, labels.EVENTS[entry.event.type], entry.event.hash[:16])
    assert_shows(text, labels.ROLES["business_supervisor"], "华东分公司业务部", "2026-03-02 12:30:00")
    assert squeezed(gettext("%(field)s changed: %(old)s → %(new)s", field="comment", old="同意，注意保密",
                            new="限阅三天以内")) not in text
    assert text.count("限阅三天以内") == 2  # the decision and the submission
    # The reads the loan allowed.
    assert_shows(text, "2026-03-02 13:00", "API")
    assert MANAGER_STEP not in text_of(reader.pages[:-1])  # never asked: only in the diagram

    # The diagram: every element and flow of the path in the strong colour, the rest grey, nothing
    # waiting, and the time spent in each human step (the business department's 2.5 h).
    page = diagram_page(reader)
    assert strokes_in(page, dossier_pdf.TAKEN) >= len(path.passed) + len(path.flows)
    assert strokes_in(page, dossier_pdf.NOT_REACHED) > 0
    assert strokes_in(page, dossier_pdf.WAITING) == 0
    assert page is reader.pages[-1]
    assert_shows(text_of([page]), REP_STEP, BUSINESS_STEP, MANAGER_STEP, "借阅已批准", "2.5")


def test_a_refused_loans_dossier_names_the_refusal_and_a_chain_that_does_not_verify(engine, in_request):
    instance = start(engine, "rep_e2")
    decide(engine, instance, "rep_e1", "reject", "客户资料涉密，不予借阅", T0 + timedelta(hours=2))

    with force_locale("en"):
        reader = read(dossier(instance, chain_verified=False))

    text = text_of(reader.pages)
    assert_shows(text, f"Case dossier #{instance.id}", "Completed", "does not verify", "Decisions", REP_STEP,
                 "Refused", "客户资料涉密，不予借阅", "Timeline", "Request filed", "Task created", "Task completed",
                 "Case closed", "Sales representative")
    assert BUSINESS_STEP not in text_of(reader.pages[:-1])  # nobody after the refuser was asked
    assert "Dossier reads" not in text  # the case granted no loan
    page = diagram_page(reader)
    assert strokes_in(page, dossier_pdf.TAKEN) >= 4  # start, the rep's step, its gateway, the refusal
    assert_shows(text_of([page]), "借阅被拒绝", "2 h")


def test_a_running_case_shows_where_it_waits_and_for_how_long(engine, in_request):
    instance = start(engine, "spec_east")  # not a sales rep: the branch manager consents too
    decide(engine, instance, "rep_e1", "approve", "", T0 + timedelta(hours=1))
    decide(engine, instance, "biz_east", "approve", "", T0 + timedelta(hours=2))
    clock.set(T0 + timedelta(days=2, hours=2))

    with force_locale("en"):
        reader = read(dossier(instance))

    assert_shows(text_of(reader.pages), "In progress")
    page = diagram_page(reader)
    assert strokes_in(page, dossier_pdf.WAITING) > 0
    assert_shows(text_of([page]), MANAGER_STEP, "2 d")  # waiting for two days so far


# -- what must not break it ------------------------------------------------------------------------

LONG_STEP = "片区销售代表对客户档案借阅申请的同意意见" * 6 + " with a rather long English tail"
LONG_TOKEN = "x" * 400  # no space to break at


def test_long_names_and_long_texts_wrap_without_losing_a_word(engine, in_request, bpmn_copy):
    edit(bpmn_copy, 'name="片区销售代表同意"', f'name="{LONG_STEP}"')
    edit(bpmn_copy, 'name="销售代表同意？"', 'name="' + "销售代表是否同意借阅" * 8 + '"')
    edit(bpmn_copy, 'name="其他片区销售代表"', 'name="' + "其他片区的销售代表直接开放借阅" * 6 + '"')
    engine.deployment.deploy_directory(bpmn_copy.parent)
    purpose = ("为季度拜访核对月度采购分析" * 40)[:480] + "PURPOSE-END"
    comment = "意见" * 280 + LONG_TOKEN + " 约翰·史密斯 👍 COMMENT-END"
    instance = start(engine, "rep_e2", purpose)
    decide(engine, instance, "rep_e1", "approve", comment, T0 + timedelta(hours=1))
    decide(engine, instance, "biz_east", "approve", comment, T0 + timedelta(hours=2))

    reader = read(dossier(instance))

    assert instance.definition.version > 1
    text = text_of(reader.pages)
    assert_shows(text, LONG_STEP, purpose, "约翰・史密斯", "[U+1F44D]")  # the font has neither · nor emoji
    assert text.count("COMMENT-END") == 4  # in the decisions and in the timeline, twice
    assert text.count("x") >= 4 * len(LONG_TOKEN)
    drawing = text_of([diagram_page(reader)])
    assert squeezed(LONG_STEP)[:8] in drawing and "…" in drawing  # cut to fit its box
    assert squeezed(LONG_STEP) not in drawing


def test_a_complaint_longer_than_a_page_goes_on_over_pages(engine, in_request):
    clock.set(T0)
    content = ("本周两次送货迟到超过半天，影响工地施工" * 220)[:3990] + "CONTENT-END"
    instance = engine.cases.start("complaint_handling", get_user("rep_e1"), {
        "customer_id": get_customer("HD-E1-003").id, "channel": "phone", "received_at": "2026-03-02T08:30",
        "category": "delivery", "content": content})

    reader = read(dossier(instance))

    text = text_of(reader.pages)
    assert len(reader.pages) >= 4  # the text twice (case data and timeline), and the diagram
    assert text.count("CONTENT-END") == 2
    assert_shows(text, labels.CHANNELS["phone"], labels.COMPLAINT_CATEGORIES["delivery"])
    assert_shows(text, labels.STATUSES["running"])


def test_a_definition_without_a_layout_says_so(engine, in_request, bpmn_copy):
    xml = bpmn_copy.read_text(encoding="utf-8")
    bpmn_copy.write_text(re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", xml, flags=re.S),
                         encoding="utf-8")
    engine.deployment.deploy_directory(bpmn_copy.parent)
    instance = start(engine, "rep_e2")

    with force_locale("en"):
        reader = read(dossier(instance))

    assert_shows(text_of(reader.pages), "The definition has no diagram layout.")


def test_a_star_rating_draws_its_subprocess_parallel_branches_and_waiting_timer(engine, in_request):
    clock.set(T0)
    instance = engine.cases.start("star_rating", get_user("admin"), {"branch": "east", "month": "2026-02"})

    reader = read(dossier(instance))

    page = diagram_page(reader)
    assert strokes_in(page, dossier_pdf.TAKEN) > 0 and strokes_in(page, dossier_pdf.WAITING) > 0
    assert_shows(text_of([page]), "分公司初评")
