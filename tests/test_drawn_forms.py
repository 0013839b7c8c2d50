"""The server-side check of forms drawn with form-js (forms/drawn.py): every field type, every refusal,
every schema problem, the choices from the company's data for the person filling the form in, and a
realistic sample request. The demo organisation and customers, on the real database; messages as the
Chinese pages show them."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import get_customer, get_user
from flask_babel import force_locale

from app import db
from app.calendar import clock
from app.errors import InvalidData
from forms import drawn

SHANGHAI = ZoneInfo("Asia/Shanghai")
REQUIRED = "此项为必填项。"
NOT_OFFERED = "请从给出的选项中选择。"


def zh(message) -> str:
    with force_locale("zh"):
        return str(message)


def form(*components) -> dict:
    return {"type": "default", "id": "Form_1", "schemaVersion": 16, "components": list(components)}


def field(type_, key, label="字段", **more) -> dict:
    return {"type": type_, "key": key, "label": label, "id": f"Field_{key}", **more}


def refused(schema, data, user="rep_e1", files=None) -> dict[str, list[str]]:
    """The field errors `clean` raises, in Chinese."""
    with pytest.raises(InvalidData) as caught:
        drawn.clean(schema, data, user=get_user(user), files=files)
    assert zh(caught.value.message) == "部分字段填写有误。"
    return {name: [zh(message) for message in messages] for name, messages in caught.value.fields.items()}


def problems(schema) -> list[str]:
    return [zh(problem) for problem in drawn.problems(schema)]


COLOURS = [{"label": "红", "value": "red"}, {"label": "绿", "value": "green"}, {"label": "蓝", "value": "blue"}]
EVERY_TYPE = form(
    {"type": "text", "id": "Intro", "text": "# 说明"},
    field("textfield", "title", "标题", validate={"required": True, "maxLength": 20}),
    field("textarea", "remarks", "备注"),
    field("number", "count", "数量", decimalDigits=0, validate={"min": 1, "max": 1000}),
    field("number", "price", "单价", decimalDigits=2),
    field("datetime", "day", "日期", subtype="date", dateLabel="日期"),
    field("select", "colour", "颜色", values=COLOURS),
    field("radio", "size", "尺寸", values=[{"label": "大", "value": "L"}, {"label": "小", "value": "S"}]),
    field("checkbox", "urgent", "加急"),
    field("checklist", "extras", "附加", values=COLOURS),
    field("taglist", "tags", "标签", values=COLOURS),
    {"type": "spacer", "id": "Gap"},
    {"type": "group", "id": "Who", "label": "联系人", "components": [
        field("textfield", "contact", "联系人"), {"type": "separator", "id": "Line"}]},
    {"type": "dynamiclist", "id": "Rows", "path": "rows", "label": "明细", "isRepeating": True,
     "allowAddRemove": True, "defaultRepetitions": 1, "components": [
         field("textfield", "name", "名称", validate={"required": True}), field("number", "qty", "数量")]},
    field("filepicker", "scan", "扫描件", multiple=True),
)
EVERY_TYPE_KEYS = {"title", "remarks", "count", "price", "day", "colour", "size", "urgent", "extras", "tags",
                   "contact", "rows"}


# -- every field type, as stored ----------------------------------------------------------------------

def test_every_field_type_is_stored_as_the_module_says(ctx):
    assert problems(EVERY_TYPE) == []
    stored = drawn.clean(EVERY_TYPE, {
        "title": "  样品  ", "remarks": "第一行\n第二行 ", "count": "12", "price": 12.50, "day": "2026-12-02",
        "colour": "red", "size": "S", "urgent": "on", "extras": ["blue", "red"], "tags": ["green"],
        "contact": "陈建华", "rows": [{"name": " 柴油 ", "qty": "2.5"}, {"name": "汽油"}],
        "scan": "files::abc"}, user=get_user("rep_e1"), files={"scan": ["a.pdf", "b.pdf"]})
    assert stored == {"title": "样品", "remarks": "第一行\n第二行", "count": 12, "price": "12.5",
                      "day": "2026-12-02", "colour": "red", "size": "S", "urgent": True,
                      "extras": ["blue", "red"], "tags": ["green"], "contact": "陈建华",
                      "rows": [{"name": "柴油", "qty": "2.5"}, {"name": "汽油", "qty": None}]}
    assert set(stored) == drawn.keys(EVERY_TYPE) == EVERY_TYPE_KEYS


def test_every_key_is_stored_when_empty_as_form_js_leaves_it(ctx):
    stored = drawn.clean(EVERY_TYPE, {"title": "样品", "remarks": "   ", "count": "", "colour": None},
                         user=get_user("rep_e1"))
    assert stored == {"title": "样品", "remarks": None, "count": None, "price": None, "day": None,
                      "colour": None, "size": None, "urgent": False, "extras": [], "tags": [], "contact": None,
                      "rows": []}


def test_a_key_the_schema_lacks_is_never_stored(ctx):
    stored = drawn.clean(EVERY_TYPE, {"title": "样品", "approved": True, "amount_yuan": 999999,
                                      "rows": [{"name": "柴油", "price": "0.01"}], "Intro": "x", "Who": "x"},
                         user=get_user("rep_e1"))
    assert set(stored) == EVERY_TYPE_KEYS and stored["rows"] == [{"name": "柴油", "qty": None}]


def test_a_disabled_or_read_only_field_keeps_nothing_posted_for_it(ctx):
    schema = form(field("textfield", "note", "说明"), field("number", "limit", "额度", readonly=True),
                  field("textfield", "case_no", "编号", disabled=True, validate={"required": True}))
    assert drawn.keys(schema) == {"note"}
    assert drawn.clean(schema, {"note": "好", "limit": 10**6, "case_no": "伪造"}, user=get_user("rep_e1")) == {
        "note": "好"}


def test_every_field_is_refused_at_once_with_its_key(ctx):
    errors = refused(EVERY_TYPE, {"title": "", "count": 0, "price": "abc", "day": "2026-02-30",
                                  "colour": "black", "urgent": "yes", "extras": ["red", "red"],
                                  "rows": [{"name": "柴油"}, {"qty": "x"}]})
    assert errors == {"title": [REQUIRED], "count": ["不能小于 1。"], "price": ["不是数字。"],
                      "day": ["不是有效日期（YYYY-MM-DD）。"], "colour": [NOT_OFFERED],
                      "urgent": ["必须是“是”或“否”。"], "extras": ["同一选项选了两次。"],
                      "rows-1-name": [REQUIRED], "rows-1-qty": ["不是数字。"]}


def test_data_that_is_not_an_object_is_refused(ctx):
    with pytest.raises(InvalidData) as caught:
        drawn.clean(EVERY_TYPE, ["title"], user=get_user("rep_e1"))
    assert {name: [zh(m) for m in messages] for name, messages in caught.value.fields.items()} == {
        "data": ["必须是对象。"]}


def test_a_schema_that_cannot_be_deployed_is_never_used(ctx):
    with pytest.raises(ValueError, match="not a deployable drawn form"):
        drawn.clean(form({"type": "button", "id": "Submit"}), {}, user=get_user("rep_e1"))


# -- each rule, refused ---------------------------------------------------------------------------------

TEXT = field("textfield", "code", "编号", validate={"required": True, "minLength": 3, "maxLength": 6, "pattern": r"[A-Z]\d+"})
EMAIL = field("textfield", "mail", "邮箱", validate={"validationType": "email"})
WHOLE = field("number", "qty", "数量", decimalDigits=0, validate={"required": True, "min": 1, "max": 1000})
CENTS = field("number", "price", "单价", decimalDigits=2, increment="0.05", validate={"min": "0.5"})
DAY = field("datetime", "day", "日期", subtype="date", disallowPassedDates=True)
PICK = field("select", "colour", "颜色", values=COLOURS, validate={"required": True})
MANY = field("checklist", "extras", "附加", values=COLOURS, validate={"required": True})
TICK = field("checkbox", "agree", "同意", validate={"required": True})
FILES = field("filepicker", "scan", "扫描件", validate={"required": True})
ROWS = {"type": "dynamiclist", "id": "Rows", "path": "items", "label": "明细",
        "components": [field("textfield", "name", "名称", validate={"required": True})]}


@pytest.mark.parametrize(("component", "value", "messages"), [
    (TEXT, "   ", [REQUIRED]),
    (TEXT, 123, ["必须是文本。"]),
    (TEXT, "A1", ["至少 3 个字符。"]),
    (TEXT, "A123456", ["最多 6 个字符。"]),
    (TEXT, "xA123", ["格式不正确。"]),  # the whole text must match, not a part of it
    (TEXT, "A12x", ["格式不正确。"]),
    (TEXT, "٣٣٣٣", ["格式不正确。"]),  # \d means 0-9, as in JavaScript
    (field("textarea", "long", "长文本"), "字" * (drawn.TEXT_AT_MOST + 1), [f"最多 {drawn.TEXT_AT_MOST} 个字符。"]),
    (EMAIL, "chen@", ["不是有效的电子邮件地址。"]),
    (WHOLE, None, [REQUIRED]),
    (WHOLE, True, ["不是数字。"]),
    (WHOLE, "NaN", ["不是数字。"]),
    (WHOLE, float("nan"), ["不是数字。"]),
    (WHOLE, float("inf"), ["不是数字。"]),
    (WHOLE, "1e3", ["不是数字。"]),
    (WHOLE, "十", ["不是数字。"]),
    (WHOLE, [5], ["不是数字。"]),
    (WHOLE, 0, ["不能小于 1。"]),
    (WHOLE, "1001", ["不能大于 1000。"]),
    (WHOLE, 2.5, ["必须是整数。"]),
    (WHOLE, 10**15, ["数字过大。"]),
    (CENTS, "1.234", ["小数点后最多 2 位。", "必须是 0.05 的整数倍。"]),
    (CENTS, "0.4", ["不能小于 0.5。"]),
    (CENTS, "0.72", ["必须是 0.05 的整数倍。"]),
    (DAY, "2026/12/02", ["不是有效日期（YYYY-MM-DD）。"]),
    (DAY, "2026-02-30", ["不是有效日期（YYYY-MM-DD）。"]),
    (DAY, 20261202, ["不是有效日期（YYYY-MM-DD）。"]),
    (DAY, "2026-12-01", ["日期不能是过去：最早为今天。"]),
    (PICK, "", [REQUIRED]),
    (PICK, "black", [NOT_OFFERED]),
    (PICK, "红", [NOT_OFFERED]),  # the label is not the value
    (PICK, ["red"], [NOT_OFFERED]),
    (MANY, [], [REQUIRED]),
    (MANY, "red", ["必须是列表。"]),
    (MANY, ["red", "black"], [NOT_OFFERED]),
    (MANY, ["red", "red"], ["同一选项选了两次。"]),
    (TICK, False, [REQUIRED]),
    (TICK, "false", [REQUIRED]),
    (TICK, "yes", ["必须是“是”或“否”。"]),
    (TICK, 1, ["必须是“是”或“否”。"]),
    (ROWS, "柴油", ["每一行必须是对象。"]),
    (ROWS, ["柴油"], ["每一行必须是对象。"]),
    (ROWS, [{"name": "x"}] * (drawn.ROWS_AT_MOST + 1), [f"最多 {drawn.ROWS_AT_MOST} 行。"]),
])
def test_a_value_is_refused_under_its_key(ctx, component, value, messages):
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=SHANGHAI))
    schema = form(component)
    assert problems(schema) == []
    key = drawn._name(component)
    assert refused(schema, {key: value}) == {key: messages}


@pytest.mark.parametrize(("component", "value", "stored"), [
    (TEXT, " A123 ", "A123"),
    (EMAIL, "chen@pujiang.com.cn", "chen@pujiang.com.cn"),
    (WHOLE, "1000", 1000),
    (WHOLE, 7.0, 7),
    (WHOLE, " 8 ", 8),
    (CENTS, 12.5, "12.5"),
    (CENTS, "0.50", "0.5"),
    (field("number", "any", "任意"), 100, "100"),  # decimalDigits not 0: always decimal text
    (field("number", "any", "任意"), "-0", "0"),
    (field("number", "zero", "零", decimalDigits=0, validate={"required": True}), 0, 0),  # 0 is a value
    (field("number", "zero", "零", validate={"required": True}), "0.0", "0"),
    (DAY, "2026-12-02", "2026-12-02"),  # today is not past
    (TICK, True, True),
    (TICK, "true", True),
    (TICK, "on", True),
    (field("checkbox", "maybe", "可选"), "false", False),
])
def test_a_value_is_stored_in_its_one_form(ctx, component, value, stored):
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=SHANGHAI))
    key = drawn._name(component)
    assert drawn.clean(form(component), {key: value}, user=get_user("rep_e1")) == {key: stored}


def test_rows_are_checked_each_under_its_own_name(ctx):
    schema = form(ROWS, field("textfield", "name", "同名的顶层字段"))
    assert problems(schema) == []  # a row's keys are its own namespace
    assert refused(schema, {"items": [{"name": "柴油"}, {"name": " "}, {}], "name": "x"}) == {
        "items-1-name": [REQUIRED], "items-2-name": [REQUIRED]}
    assert drawn.clean(schema, {"items": [{"name": "柴油", "forged": 1}]}, user=get_user("rep_e1")) == {
        "items": [{"name": "柴油"}], "name": None}


def test_attachments_count_the_files_received_and_store_nothing(ctx):
    schema = form(FILES, field("filepicker", "photos", "照片", multiple=True))
    assert drawn.keys(schema) == set()
    assert refused(schema, {"scan": "files::forged"}) == {"scan": ["请选择要上传的文件。"]}
    assert refused(schema, {}, files={"scan": ["a.pdf", "b.pdf"]}) == {"scan": ["只能上传一个文件。"]}
    assert drawn.clean(schema, {"scan": "files::1"}, user=get_user("rep_e1"),
                       files={"scan": ["a.pdf"], "photos": ["1.jpg", "2.jpg"]}) == {}


# -- choices from the company's data, for the person filling the form in ------------------------------

CUSTOMER = field("select", "customer", "客户", properties={"source": "customers"}, validate={"required": True})


def test_a_rep_chooses_among_the_customers_he_may_see(ctx):
    schema = form(CUSTOMER)
    assert problems(schema) == []
    assert [value for value, _ in drawn.choices(CUSTOMER, get_user("rep_e1"))] == [
        "HD-E1-001", "HD-E1-002", "HD-E1-003"]
    assert drawn.choices(CUSTOMER, get_user("rep_e1"))[0] == ("HD-E1-001", "HD-E1-001 上海浦江石化贸易有限公司")
    assert drawn.clean(schema, {"customer": "HD-E1-002"}, user=get_user("rep_e1")) == {"customer": "HD-E1-002"}
    # Another territory's customer is outside his sight; a customer is named by its code, not its id.
    own_id = get_customer("HD-E1-001").id
    for forged in ("HD-E2-001", "HB-N1-001", own_id, str(own_id), "上海浦江石化贸易有限公司"):
        assert refused(schema, {"customer": forged}, "rep_e1") == {"customer": [NOT_OFFERED]}
    assert drawn.clean(schema, {"customer": "HD-E2-001"}, user=get_user("rep_e2")) == {"customer": "HD-E2-001"}
    # Someone with no territory (a branch manager) sees no dossier: he is offered none.
    assert drawn.choices(CUSTOMER, get_user("mgr_east")) == []
    assert refused(schema, {"customer": "HD-E1-001"}, "mgr_east") == {"customer": [NOT_OFFERED]}


def test_people_of_a_role_in_a_unit_and_the_units_under_it(ctx):
    reps = field("taglist", "reps", "销售代表", properties={"source": "people", "role": "sales_rep", "unit": "east"})
    manager = field("radio", "manager", "销售经理", properties={"source": "people", "role": "sales_manager"})
    schema = form(reps, manager)
    assert problems(schema) == []
    assert drawn.choices(reps, get_user("rep_n1")) == [("rep_e1", "张伟 · 华东一片区（浦东）"),
                                                       ("rep_e2", "李娜 · 华东二片区（苏州）")]
    assert [value for value, _ in drawn.choices(manager, get_user("rep_e1"))] == ["salesmgr_east", "salesmgr_north"]
    assert drawn.clean(schema, {"reps": ["rep_e2", "rep_e1"], "manager": "salesmgr_north"},
                       user=get_user("rep_e1")) == {"reps": ["rep_e2", "rep_e1"], "manager": "salesmgr_north"}
    assert refused(schema, {"reps": ["rep_e1", "rep_n1"], "manager": "mgr_east"}) == {
        "reps": [NOT_OFFERED], "manager": [NOT_OFFERED]}
    get_user("rep_e2").active = False  # someone who has left is no longer offered (rolled back after the test)
    db.session.flush()
    assert refused(schema, {"reps": ["rep_e2"]}) == {"reps": [NOT_OFFERED]}


def test_branches_by_code(ctx):
    branch = field("select", "branch", "分公司", properties={"source": "branches"})
    assert drawn.choices(branch, get_user("rep_e1")) == [("east", "华东分公司"), ("north", "华北分公司")]
    assert drawn.clean(form(branch), {"branch": "north"}, user=get_user("rep_e1")) == {"branch": "north"}
    for forged in ("hq", "E1", "华东分公司"):
        assert refused(form(branch), {"branch": forged}) == {"branch": [NOT_OFFERED]}


# -- what cannot be deployed ----------------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "expected"), [
    (None, ["表单不是 form-js 表单定义：应为类型为“default”、含组件列表的对象。"]),
    ({"type": "default"}, ["表单不是 form-js 表单定义：应为类型为“default”、含组件列表的对象。"]),
    ({"type": "other", "components": []}, ["表单不是 form-js 表单定义：应为类型为“default”、含组件列表的对象。"]),
    (form("textfield"), ["#0：不是组件（应为带类型的对象）。"]),
    (form({"label": "无类型"}), ["#0 “无类型”：不是组件（应为带类型的对象）。"]),
    (form({"type": "button", "id": "Submit", "label": "提交"}), ["Submit “提交”：不支持组件类型“button”。"]),
    (form({"type": "expression", "key": "total", "expression": "=a+b"}), ["total：不支持组件类型“expression”。"]),
    (form(field("datetime", "at", "时间", subtype="datetime")), ["at “时间”：只支持日期（子类型“date”），不支持“datetime”。"]),
    (form({"type": "textfield", "id": "T1", "label": "无键"}), ["T1 “无键”：字段必须有键名（key）。"]),
    (form({"type": "dynamiclist", "id": "L1", "components": []}), ["L1：列表必须有路径（path）。"]),
    (form({"type": "dynamiclist", "path": "rows", "isRepeating": False, "components": []}),
     ["rows：列表的行是可重复的：isRepeating 不能为 false。"]),
    (form(field("select", "pick", "选择", properties={"source": ["customers"]})),
     ["pick “选择”：未知的数据来源“['customers']”。"]),
    (form(field("textfield", "a.b", "点路径")), ["a.b “点路径”：键名“a.b”无效：只能由字母、数字和 _ 组成，且不能以数字开头。"]),
    (form(field("textfield", "1st", "数字开头")), ["1st “数字开头”：键名“1st”无效：只能由字母、数字和 _ 组成，且不能以数字开头。"]),
    (form(field("textfield", "class", "关键字")), ["class “关键字”：键名“class”无效：只能由字母、数字和 _ 组成，且不能以数字开头。"]),
    (form(field("textfield", "a", "甲"), field("number", "a", "乙")), ["a “乙”：键名“a”重复使用。"]),
    (form(field("textfield", "a", "甲"), {"type": "group", "id": "G", "components": [field("textfield", "a", "乙")]}),
     ["a “乙”：键名“a”重复使用。"]),
    (form(field("textfield", "a", "甲"), field("filepicker", "a", "附件")), ["a “附件”：键名“a”重复使用。"]),
    (form({"type": "dynamiclist", "path": "rows", "components": [field("textfield", "x", "甲"),
                                                                 field("textfield", "x", "乙")]}),
     ["x “乙”：键名“x”重复使用。"]),
    (form(field("select", "pick", "选择")), ["pick “选择”：选择项必须有固定选项或数据来源。"]),
    (form(field("checklist", "pick", "选择", values=[])), ["pick “选择”：选择项必须有固定选项或数据来源。"]),
    (form(field("radio", "pick", "选择", values=[{"label": "甲", "value": "a"}, {"label": "乙", "value": "a"}])),
     ["pick “选择”：每个选项必须是带文本值（value）的对象，且不能重复。"]),
    (form(field("radio", "pick", "选择", values=[{"label": "一", "value": 1}])),
     ["pick “选择”：每个选项必须是带文本值（value）的对象，且不能重复。"]),
    (form(field("select", "pick", "选择", valuesKey="options")),
     ["pick “选择”：选项只能来自固定选项或数据来源；不支持 valuesKey 和 valuesExpression。"]),
    (form(field("select", "pick", "选择", values=COLOURS, properties={"source": "branches"})),
     ["pick “选择”：固定选项和数据来源只能二选一。"]),
    (form(field("select", "pick", "选择", properties={"source": "products"})), ["pick “选择”：未知的数据来源“products”。"]),
    (form(field("select", "pick", "选择", properties={"source": "people"})),
     ["pick “选择”：数据来源“people”需要参数“role”。"]),
    (form(field("select", "pick", "选择", properties={"source": "people", "role": "boss"})),
     ["pick “选择”：role“boss”不存在。"]),
    (form(field("select", "pick", "选择", properties={"source": "people", "role": "sales_rep", "unit": "west"})),
     ["pick “选择”：unit“west”不存在。"]),
    (form(field("number", "n", "数", validate={"min": 10, "max": 1})), ["n “数”：最小值大于最大值。"]),
    (form(field("number", "n", "数", validate={"min": "=limit"})), ["n “数”：最小值和最大值必须是数字。"]),
    (form(field("number", "n", "数", validate={"max": True})), ["n “数”：最小值和最大值必须是数字。"]),
    (form(field("number", "n", "数", decimalDigits=-1)), ["n “数”：小数位数必须是不小于 0 的整数。"]),
    (form(field("number", "n", "数", increment="0")), ["n “数”：步长必须是大于 0 的数字。"]),
    (form(field("textfield", "t", "文", validate={"minLength": 5, "maxLength": 2})), ["t “文”：最小长度大于最大长度。"]),
    (form(field("textarea", "t", "文", validate={"maxLength": -1})), ["t “文”：长度必须是不小于 0 的整数。"]),
    (form(field("textarea", "t", "文", validate={"minLength": 1.5})), ["t “文”：长度必须是不小于 0 的整数。"]),
    (form(field("textfield", "t", "文", validate={"pattern": "[0-9"})),
     ["t “文”：格式（pattern）不是有效的正则表达式：unterminated character set at position 0"]),
    (form(field("textfield", "t", "文", validate={"validationType": "phone"})),
     ["t “文”：不支持校验类型“phone”：请改用格式（pattern）。"]),
    (form(field("textfield", "t", "文", conditional={"hide": "=x > 1"})), ["t “文”：不支持按条件隐藏字段。"]),
    (form(field("textfield", "t", "文", readonly="=done")), ["t “文”：“readonly”中不支持表达式。"]),
    (form(field("filepicker", "f", "附件", multiple="=many")), ["f “附件”：“multiple”中不支持表达式。"]),
    (form({"type": "group", "id": "G", "path": "contact", "components": []}),
     ["G：分组内的字段保存在表单顶层：分组的路径（path）请留空。"]),
    (form({"type": "group", "id": "G", "components": {}}), ["G：其组件不是列表。"]),
    (form({"type": "dynamiclist", "path": "rows", "components": [
        {"type": "dynamiclist", "path": "inner", "components": []}, field("filepicker", "f", "附件"),
        {"type": "group", "id": "G", "components": []}]}),
     ["inner：列表的行中不能放 dynamiclist。", "f “附件”：列表的行中不能放 filepicker。", "G：列表的行中不能放 group。"]),
])
def test_a_schema_that_cannot_be_deployed_says_why(ctx, schema, expected):
    assert problems(schema) == expected


def test_groups_nested_too_deeply_are_refused(ctx):
    inner = field("textfield", "deep", "深")
    for depth in range(drawn.DEPTH_AT_MOST + 1):
        inner = {"type": "group", "id": f"G{depth}", "components": [inner]}
    assert problems(form(inner)) == ["G0：嵌套层级过深。"]


def test_every_problem_is_said_not_just_the_first(ctx):
    schema = form(field("textfield", "a", "甲", validate={"minLength": 3, "maxLength": 1, "pattern": "("}),
                  {"type": "image", "id": "Logo"}, field("textfield", "a", "乙"))
    assert problems(schema) == ["a “甲”：最小长度大于最大长度。",
                                "a “甲”：格式（pattern）不是有效的正则表达式：missing ), unterminated subpattern at position 0",
                                "Logo：不支持组件类型“image”。", "a “乙”：键名“a”重复使用。"]


# -- a realistic form: the sample request (样品申请) ----------------------------------------------------

SAMPLE_REQUEST = {
    "type": "default", "id": "sample_request_start", "schemaVersion": 16,
    "exporter": {"name": "form-js (https://demo.bpmn.io)", "version": "1.15.0"},
    "components": [
        {"type": "text", "id": "Text_intro", "text": "## 样品申请\n请如实填写客户与样品信息。"},
        {"type": "select", "id": "Field_customer", "key": "customer", "label": "客户", "searchable": True,
         "properties": {"source": "customers"}, "validate": {"required": True}},
        {"type": "textfield", "id": "Field_product", "key": "product", "label": "产品",
         "validate": {"required": True, "maxLength": 80}},
        {"type": "number", "id": "Field_quantity", "key": "quantity", "label": "数量（桶）", "decimalDigits": 0,
         "validate": {"required": True, "min": 1, "max": 1000}, "appearance": {"suffixAdorner": "桶"}},
        {"type": "datetime", "id": "Field_needed_by", "key": "needed_by", "label": "需要日期", "subtype": "date",
         "dateLabel": "需要日期", "disallowPassedDates": True},
        {"type": "textarea", "id": "Field_reason", "key": "reason", "label": "申请理由",
         "validate": {"required": True, "minLength": 5, "maxLength": 1000}},
        {"type": "filepicker", "id": "Field_attachment", "key": "attachment", "label": "附件", "multiple": True,
         "accept": ".pdf,.jpg,.png", "validate": {"required": True}},
        {"type": "dynamiclist", "id": "Field_items", "path": "items", "label": "样品明细", "isRepeating": True,
         "allowAddRemove": True, "defaultRepetitions": 1, "showOutline": True, "components": [
             {"type": "textfield", "id": "Field_item_name", "key": "name", "label": "品名",
              "validate": {"required": True}},
             {"type": "number", "id": "Field_item_litres", "key": "litres", "label": "升数", "decimalDigits": 1,
              "validate": {"min": 0.5, "max": 200}},
             {"type": "select", "id": "Field_item_grade", "key": "grade", "label": "标号", "values": [
                 {"label": "0号柴油", "value": "diesel_0"}, {"label": "92号汽油", "value": "gasoline_92"}]}]},
    ],
}


def test_a_sample_request_is_accepted_with_good_data_and_refused_with_bad(ctx):
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=SHANGHAI))
    assert problems(SAMPLE_REQUEST) == []
    assert drawn.keys(SAMPLE_REQUEST) == {"customer", "product", "quantity", "needed_by", "reason", "items"}
    posted = {"customer": "HD-E1-003", "product": "CF-4 柴油机油样品", "quantity": 120, "needed_by": "2026-12-15",
              "reason": "客户新购两台工程机械，需试用后决定是否批量采购。", "attachment": "files::3f1",
              "items": [{"name": "CF-4 15W-40", "litres": "4", "grade": "diesel_0"},
                        {"name": "SN 5W-30", "litres": 1.5}]}
    assert drawn.clean(SAMPLE_REQUEST, posted, user=get_user("rep_e1"), files={"attachment": ["采购意向书.pdf"]}) == {
        "customer": "HD-E1-003", "product": "CF-4 柴油机油样品", "quantity": 120, "needed_by": "2026-12-15",
        "reason": "客户新购两台工程机械，需试用后决定是否批量采购。",
        "items": [{"name": "CF-4 15W-40", "litres": "4", "grade": "diesel_0"},
                  {"name": "SN 5W-30", "litres": "1.5", "grade": None}]}
    # A rep of another territory, a bad quantity, no attachment, a row of nonsense.
    assert refused(SAMPLE_REQUEST, {**posted, "quantity": "1500",
                                    "items": [{"name": "CF-4", "litres": 0.25, "grade": "kerosene"}]},
                   "rep_e2") == {
        "customer": [NOT_OFFERED], "quantity": ["不能大于 1000。"], "attachment": ["请选择要上传的文件。"],
        "items-0-litres": ["小数点后最多 1 位。", "不能小于 0.5。"], "items-0-grade": [NOT_OFFERED]}
