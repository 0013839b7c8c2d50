"""Forms drawn in the modeler (issue 21, step 5) through the real pages in headless Chromium: the
administrator creates a process at /admin/new-process, opens its request form in form-js's editor beside
the diagram (in Chinese), adds a number field and deploys with a change note: the new version holds the
field, and a rep starting a case meets it (a quantity above its bound refused). A form made on the page is
offered at once by a step's form choice, and a problem of a form comes back by the step naming it.
Screenshots of the modeler with the form editor open, on a desktop and on a phone, go to test-artifacts/."""
import pytest
from browsing import DESKTOP, PHONE, problems_of, screenshot, sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from app import db
from app.engine import definitions
from app.engine.models import Instance

pytestmark = pytest.mark.browser

KEY = "trial_request"
NAME = "试用申请"


def create_process(browser, base_url, phone=False):
    """The administrator's new process from the template, its modeler open (the diagram drawn)."""
    admin = sign_in(browser, base_url, "admin", phone=phone)
    admin.goto(f"{base_url}/admin/new-process")
    admin.fill("#name", NAME)
    admin.fill("#key", KEY)
    admin.select_option("#starter_roles", "sales_rep")
    admin.select_option("#starter_units", "east")
    admin.locator("[data-testid=new-process] button[type=submit]").click()
    admin.wait_for_url(f"**/admin/processes/{KEY}/modeler")
    admin.wait_for_selector("g.djs-element[data-element-id=request]")
    return admin


def open_form(admin, form_id):
    admin.get_by_test_id("form-list").locator(f"[data-form-id={form_id}]").get_by_role("button", name="编辑").click()
    expect(admin.get_by_test_id("form-editor")).to_have_attribute("data-form-id", form_id)
    expect(admin.locator("#form-canvas .fjs-form-container")).to_be_visible()


def field(page, label: str):
    """The viewer's field with this label (its wrapper: input, errors and all)."""
    return page.locator(".fjs-form-field").filter(has=page.locator("label", has_text=label)).first


def add_from_palette(admin, field_type: str):
    """Drags a field type from the editor's palette onto the end of the form, as a person does."""
    source = admin.locator(f"#form-palette .fjs-palette-field[data-field-type={field_type}]")
    target = admin.locator("#form-canvas .fjs-form .fjs-drop-container-vertical").first
    source.scroll_into_view_if_needed()
    box, goal = source.bounding_box(), target.bounding_box()
    admin.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    admin.mouse.down()
    admin.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + box["height"] / 2 + 10, steps=5)
    admin.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] - 8, steps=10)
    admin.mouse.up()


def schema_has(admin, predicate_js: str):
    """Waits until the open form's schema (as the editor would save it) satisfies `predicate_js`(schema)."""
    admin.wait_for_function(f"() => window.formEditor && ({predicate_js})(window.formEditor.saveSchema())")


def test_an_administrator_adds_a_field_to_the_request_form_and_a_rep_meets_it(browser, base_url, app):
    admin = create_process(browser, base_url)
    problems = problems_of(admin)
    request_form = f"{KEY}_request"
    forms = admin.get_by_test_id("form-list")
    expect(forms.locator(f"[data-form-id={request_form}]")).to_contain_text("提交申请")  # the step naming it
    expect(forms.locator(f"[data-form-id={KEY}_decision]")).to_contain_text("审批")
    open_form(admin, request_form)
    palette = admin.locator("#form-palette")
    for words in ("输入", "选择", "文本框", "数字", "日期", "下拉选择", "单选", "复选框", "多行文本", "附件"):
        expect(palette).to_contain_text(words)
    expect(palette.locator(".fjs-palette-field[data-field-type=button]")).to_be_hidden()  # the server refuses it

    add_from_palette(admin, "number")
    schema_has(admin, "(s) => s.components.some((c) => c.type === 'number')")
    number = admin.locator("#form-canvas .fjs-editor-selected")  # the new field is selected
    expect(number).to_have_count(1)
    panel = admin.locator("#form-properties")
    if not panel.locator("#bio-properties-panel-key").is_visible():  # groups open and close on a click
        panel.locator(".bio-properties-panel-group-header", has_text="常规").first.click()
    expect(panel).to_contain_text("键")
    label = panel.locator("[data-entry-id=label] [contenteditable], [data-entry-id=label] input").first
    label.fill("数量")
    key = panel.locator("#bio-properties-panel-key")
    key.fill("quantity")
    header = panel.locator(".bio-properties-panel-group-header", has_text="校验")
    if not panel.locator("#bio-properties-panel-max").is_visible():
        header.click()
    expect(panel).to_contain_text("最大值")
    panel.locator("#bio-properties-panel-max").fill("1000")
    schema_has(admin, """(s) => s.components.some((c) => c.type === 'number' && c.key === 'quantity'
                          && c.label === '数量' && Number(c.validate && c.validate.max) === 1000)""")
    expect(admin.locator("#form-canvas")).to_contain_text("数量")

    admin.locator("#validate").click()
    expect(admin.get_by_test_id("modeler-outcome").locator(".alert-success")).to_be_visible()
    admin.fill("#change-note", "申请表加数量")
    admin.locator("#deploy").click()
    expect(admin.get_by_test_id("modeler-outcome").locator(".alert-success")).to_contain_text("2")
    assert problems == []
    with app.app_context():
        latest = definitions.latest_definition(KEY)
        assert latest.version == 2 and latest.change_note == "申请表加数量"
        (quantity,) = [c for c in latest.form_schemas[request_form]["components"] if c["type"] == "number"]
        assert (quantity["key"], quantity["label"], float(quantity["validate"]["max"])) == ("quantity", "数量", 1000)

    rep = sign_in(browser, base_url, "rep_e1")
    rep.goto(f"{base_url}/requests/new/{KEY}")
    expect(rep.get_by_test_id("drawn-form")).to_have_attribute("data-ready", "true")
    field(rep, "数量").locator("input").fill("5000")
    field(rep, "事由").locator("textarea").fill("客户要试用新品")
    rep.locator("[data-testid=start-form] button[type=submit]").click()
    expect(field(rep, "数量").locator(".fjs-form-field-error")).to_contain_text("不能大于 1000")
    rep.evaluate("document.querySelector('[data-testid=start-form]').dataset.serverJudges = 'true'")
    rep.locator("[data-testid=start-form] button[type=submit]").click()  # the server refuses it too
    expect(rep.get_by_test_id("error-summary")).to_contain_text("数量")
    expect(field(rep, "事由").locator("textarea")).to_have_value("客户要试用新品")
    with app.app_context():
        assert db.session.scalar(select(Instance.id)) is None
    field(rep, "数量").locator("input").fill("20")
    field(rep, "数量").locator("input").press("Tab")  # the viewer takes a number on blur (debounced before)
    rep.locator("[data-testid=start-form] button[type=submit]").click()
    expect(rep.locator(".alert-success")).to_be_visible()
    with app.app_context():
        instance = db.session.scalar(select(Instance))
        assert instance.definition.version == 2


def test_a_form_made_on_the_page_is_offered_to_a_step_and_its_problems_come_back_by_the_step(browser, base_url,
                                                                                          app):
    admin = create_process(browser, base_url)
    admin.fill("#new-form-id", "9 bad")
    admin.locator("#new-form button[type=submit]").click()
    expect(admin.locator("#new-form-error")).to_be_visible()
    admin.fill("#new-form-id", f"{KEY}_request")
    admin.locator("#new-form button[type=submit]").click()
    expect(admin.locator("#new-form-error")).to_contain_text("已有")
    admin.fill("#new-form-id", "trial_review")
    admin.locator("#new-form button[type=submit]").click()
    expect(admin.get_by_test_id("form-editor")).to_have_attribute("data-form-id", "trial_review")
    expect(admin.get_by_test_id("form-list").locator("[data-form-id=trial_review]")).to_contain_text("尚无步骤")

    # The approval step takes the new form from its form choice …
    admin.locator("#canvas").scroll_into_view_if_needed()
    box = admin.locator("g.djs-element[data-element-id=approval]").bounding_box()
    admin.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    panel = admin.locator("#properties")
    if not admin.locator("#bio-properties-panel-formKey").is_visible():
        panel.locator(".bio-properties-panel-group-header", has_text="表单").first.click()
    expect(admin.locator("#bio-properties-panel-formKey option:checked")).to_have_text(f"表单：{KEY}_decision")
    admin.select_option("#bio-properties-panel-formKey", "camunda-forms:deployment:trial_review")
    expect(admin.get_by_test_id("form-list").locator("[data-form-id=trial_review]")).to_contain_text("审批")
    # … with a choice offering nothing (a problem only the server names): it comes back by the step.
    admin.evaluate("""() => { const e = window.formEditor;
      e.get('modeling').addFormField({type: 'select', label: '客户', key: 'customer', values: []},
                                     e._getState().schema, 0); }""")
    admin.locator("#validate").click()
    problem = admin.get_by_test_id("modeler-outcome").locator(".alert-danger")
    expect(problem).to_contain_text("审批")
    expect(problem).to_contain_text("trial_review")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_modeler_with_the_form_editor_looks_right(browser, base_url, app, viewport):
    name = "phone" if viewport is PHONE else "desktop"
    admin = create_process(browser, base_url, phone=viewport is PHONE)
    admin.set_viewport_size(viewport)
    open_form(admin, f"{KEY}_request")
    admin.locator("#form-canvas .fjs-form-field").first.click()  # its properties in the panel
    expect(admin.locator("#form-properties")).to_contain_text("键")
    screenshot(admin, f"modeler-forms-{name}.png")
    assert admin.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
