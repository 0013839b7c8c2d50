"""The demo organisation: two branches and headquarters, their people, and customers of an oil products
company with a few months of purchase records. Idempotent: what exists is left as it is."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import db
from app.calendar import local
from app.domain import classes, complaints, credit_rating, org, purchases, star_rating
from app.domain.customers import DIRECT, DISTRIBUTOR, Customer, PurchaseRecord
from app.engine import definitions, schedules
from app.engine.models import OPEN, Instance, Task

DEMO_PASSWORD = "demo"

# code, name, kind, parent code, function (departments)
ORG_UNITS = [
    ("hq", "总公司", org.HQ, None, None),
    ("hq_marketing", "总公司营销处", org.DEPARTMENT, "hq", "marketing"),
    ("hq_sales", "销售部", org.DEPARTMENT, "hq", "sales"),
    ("hq_finance", "计划财务部", org.DEPARTMENT, "hq", "finance"),
    ("hq_leadership", "公司领导", org.DEPARTMENT, "hq", "leadership"),
    ("hq_compliance", "合规审查室", org.DEPARTMENT, "hq", "compliance"),
    ("hq_process", "流程管理室", org.DEPARTMENT, "hq", "process_admin"),
    ("hq_legal", "法务部", org.DEPARTMENT, "hq", "legal"),
    ("east", "华东分公司", org.BRANCH, "hq", None),
    ("E1", "华东一片区（浦东）", org.TERRITORY, "east", None),
    ("E2", "华东二片区（苏州）", org.TERRITORY, "east", None),
    ("east_business", "华东分公司业务部", org.DEPARTMENT, "east", "business"),
    ("north", "华北分公司", org.BRANCH, "hq", None),
    ("N1", "华北一片区（天津）", org.TERRITORY, "north", None),
    ("north_business", "华北分公司业务部", org.DEPARTMENT, "north", "business"),
]

# username, display name, home unit, [(role, unit)]
USERS = [
    ("rep_e1", "张伟", "E1", [(org.SALES_REP, "E1")]),
    ("rep_e2", "李娜", "E2", [(org.SALES_REP, "E2")]),
    ("rep_n1", "王强", "N1", [(org.SALES_REP, "N1")]),
    ("biz_east", "刘洋", "east_business", [(org.BUSINESS_SUPERVISOR, "east_business")]),
    ("biz_north", "陈静", "north_business", [(org.BUSINESS_SUPERVISOR, "north_business")]),
    ("mgr_east", "赵敏", "east", [(org.BRANCH_MANAGER, "east")]),
    ("mgr_north", "孙磊", "north", [(org.BRANCH_MANAGER, "north")]),
    ("salesmgr_east", "周杰", "east", [(org.SALES_MANAGER, "east")]),
    ("salesmgr_north", "郭涛", "north", [(org.SALES_MANAGER, "north")]),
    ("spec_east", "吴芳", "east", [(org.CUSTOMER_SPECIALIST, "east")]),
    ("fin_li", "李红", "hq_finance", [(org.FINANCE, "hq_finance")]),
    ("sales_dept", "郑军", "hq_sales", [(org.SALES_DEPARTMENT, "hq_sales")]),
    ("hq_mkt", "冯丽", "hq_marketing", [(org.HQ_MARKETING, "hq_marketing")]),
    ("leader", "何建国", "hq_leadership", [(org.LEADERSHIP, "hq_leadership")]),
    ("deputy_gm", "马志远", "hq_leadership", [(org.DEPUTY_GM, "hq")]),
    ("auditor", "林晓", "hq_compliance", [(org.AUDITOR, "hq_compliance")]),
    ("admin", "系统管理员", "hq_process", [(org.ADMIN, "hq_process")]),
    ("legal", "吕文静", "hq_legal", [(org.LEGAL, "hq_legal")]),
    ("contract_admin", "许志华", "east", [(org.CONTRACT_ADMIN, "east")]),
    ("contract_admin_n", "董丽萍", "north", [(org.CONTRACT_ADMIN, "north")]),
]

CUSTOMERS = [
    dict(code="HD-E1-001", name="上海浦江石化贸易有限公司", kind=DISTRIBUTOR, territory="E1",
         address="上海市浦东新区张杨路1288号", registered_capital_wan=Decimal("5000"),
         cooperation_since=date(2012, 3, 1), business_scope="成品油批发、仓储",
         product_lines="柴油、汽油", main_products="0号柴油、92号汽油", downstream_market="浦东社会加油站及工矿企业",
         contact1_name="陈建华", contact1_mobile="13801710021", contact2_name="钱丽", contact2_mobile="13916220835",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("900"), equipment="自有油库2座，容量8000立方米",
         transport="自有油罐车12辆", status="正常", phone="021-58301122", settlement_method="月结",
         bank_account="工商银行浦东支行 1001 2233 0920 1188 776", delivery_route="高桥油库—张江—川沙",
         order_cycle="每周", visit_cycle="每3天"),
    dict(code="HD-E1-002", name="上海申通物流运输有限公司", kind=DIRECT, territory="E1",
         address="上海市浦东新区外高桥港区洲海路99号", registered_capital_wan=Decimal("2000"),
         cooperation_since=date(2016, 7, 15), business_scope="道路货物运输、集装箱运输",
         product_lines="柴油", main_products="0号柴油", downstream_market="自用（集卡车队）",
         contact1_name="吴海", contact1_mobile="13661820456", contact2_name="黄小梅", contact2_mobile="13774560912",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("350"), equipment="内部加油点1座",
         transport="公司配送", status="正常", phone="021-50461188", settlement_method="预付款",
         bank_account="建设银行外高桥支行 3105 0161 3600 0000 2231", delivery_route="高桥油库—外高桥",
         order_cycle="每半月", visit_cycle="每周"),
    dict(code="HD-E1-003", name="上海嘉浦建工机械租赁有限公司", kind=DIRECT, territory="E1",
         address="上海市浦东新区康桥镇秀浦路2555号", registered_capital_wan=Decimal("800"),
         cooperation_since=date(2019, 4, 8), business_scope="工程机械租赁",
         product_lines="柴油", main_products="0号柴油", downstream_market="自用（工地机械）",
         contact1_name="杨志刚", contact1_mobile="13524781102", contact2_name="", contact2_mobile="",
         invoice_type="增值税普通发票", monthly_demand_tons=Decimal("120"), equipment="移动加油车2辆",
         transport="公司配送", status="正常", phone="021-68180233", settlement_method="现款现货",
         bank_account="农业银行康桥支行 0336 0104 0008 8761", delivery_route="高桥油库—康桥工地",
         order_cycle="每月", visit_cycle="每半月"),
    dict(code="HD-E2-001", name="苏州吴中能源经销有限公司", kind=DISTRIBUTOR, territory="E2",
         address="江苏省苏州市吴中区东方大道888号", registered_capital_wan=Decimal("3000"),
         cooperation_since=date(2014, 9, 20), business_scope="成品油零售、批发",
         product_lines="汽油、柴油", main_products="92号汽油、95号汽油", downstream_market="吴中区加油站8座",
         contact1_name="沈国平", contact1_mobile="13962107788", contact2_name="顾敏", contact2_mobile="13814872233",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("650"), equipment="加油站8座",
         transport="委托第三方承运", status="正常", phone="0512-65281100", settlement_method="月结",
         bank_account="苏州银行吴中支行 5110 1888 0022 1736", delivery_route="苏州油库—吴中",
         order_cycle="每周", visit_cycle="每周"),
    dict(code="HD-E2-002", name="昆山港城公交客运有限公司", kind=DIRECT, territory="E2",
         address="江苏省昆山市前进东路500号", registered_capital_wan=Decimal("6000"),
         cooperation_since=date(2011, 1, 10), business_scope="城市公共交通客运",
         product_lines="柴油", main_products="0号柴油", downstream_market="自用（公交车队）",
         contact1_name="朱永强", contact1_mobile="13511697723", contact2_name="邱静", contact2_mobile="13771893014",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("480"), equipment="场站加油点3座",
         transport="公司配送", status="正常", phone="0512-57552200", settlement_method="月结",
         bank_account="交通银行昆山分行 3270 0060 0018 1701 0034", delivery_route="苏州油库—昆山场站",
         order_cycle="每周", visit_cycle="每周"),
    dict(code="HB-N1-001", name="天津滨海油品贸易有限公司", kind=DISTRIBUTOR, territory="N1",
         address="天津市滨海新区塘沽新港路1166号", registered_capital_wan=Decimal("4500"),
         cooperation_since=date(2013, 5, 6), business_scope="成品油批发",
         product_lines="柴油、汽油", main_products="0号柴油", downstream_market="滨海新区港口及物流园区",
         contact1_name="刘德成", contact1_mobile="13902036651", contact2_name="高雪", contact2_mobile="13820918876",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("1100"), equipment="油库1座，容量6000立方米",
         transport="自有油罐车8辆", status="正常", phone="022-25701234", settlement_method="月结",
         bank_account="天津银行滨海支行 1060 0112 0900 3388", delivery_route="南疆油库—塘沽",
         order_cycle="每周", visit_cycle="每3天"),
    dict(code="HB-N1-002", name="天津京通城际运输有限公司", kind=DIRECT, territory="N1",
         address="天津市武清区京津公路西侧物流园", registered_capital_wan=Decimal("1500"),
         cooperation_since=date(2020, 10, 12), business_scope="城际道路客货运输",
         product_lines="柴油、汽油", main_products="0号柴油、92号汽油", downstream_market="自用（城际车队）",
         contact1_name="韩磊", contact1_mobile="13622108890", contact2_name="", contact2_mobile="",
         invoice_type="增值税专用发票", monthly_demand_tons=Decimal("260"), equipment="无",
         transport="到站自提", status="正常", phone="022-82116600", settlement_method="预付款",
         bank_account="中国银行武清支行 2775 6021 0098", delivery_route="到站自提",
         order_cycle="每半月", visit_cycle="每半月"),
]

# requester, customer, purpose, days, who consents right away: cases waiting in the demo inboxes
DEMO_CASES = [
    ("rep_e2", "HD-E1-002", "下周拜访申通物流，需了解其配送路线和结算方式", 7, []),
    ("spec_east", "HD-E2-001", "整理年度档案更新说明，需核对吴中能源的联系人和开票信息", 3, ["rep_e2"]),
]

PRODUCTS = {"0号柴油": (7200, 7600), "92号汽油": (8200, 8600), "95号汽油": (8800, 9200)}
PURCHASE_MONTHS = 6

# The scheduled processes whose cases the demo opens as their schedules do: last month's star rating of
# every branch, last quarter's credit rating of every customer, the classes of every branch as of the 1st.
SCHEDULED = (star_rating.PROCESS_KEY, credit_rating.PROCESS_KEY, classes.PROCESS_KEY)
TICK = timedelta(seconds=1)


def seed(now: datetime, hash_password) -> dict:
    """Create whatever of the demo organisation is missing (passwords hashed by `hash_password`);
    returns counts of what was created."""
    created = {"org_units": 0, "users": 0, "customers": 0}
    units = {u.code: u for u in db.session.scalars(select(org.OrgUnit))}
    for code, name, kind, parent, function in ORG_UNITS:
        if code not in units:
            units[code] = org.OrgUnit(code=code, name=name, kind=kind, function=function,
                                      parent=units[parent] if parent else None)
            db.session.add(units[code])
            created["org_units"] += 1

    roles = {r.code: r for r in db.session.scalars(select(org.Role))}
    for _, _, _, memberships in USERS:
        for role_code, _ in memberships:
            if role_code not in roles:
                roles[role_code] = org.Role(code=role_code)
                db.session.add(roles[role_code])

    existing = set(db.session.scalars(select(org.User.username)))
    for username, display_name, home, memberships in USERS:
        if username in existing:
            continue
        user = org.User(username=username, display_name=display_name, org_unit=units[home],
                        password_hash=hash_password(DEMO_PASSWORD))
        user.memberships = [org.Membership(role=roles[r], org_unit=units[u]) for r, u in memberships]
        db.session.add(user)
        created["users"] += 1

    known = set(db.session.scalars(select(Customer.code)))
    today = local(now).date()
    exported: dict[str, list[PurchaseRecord]] = {}  # last month's orders, by branch: they are imported
    for fields in CUSTOMERS:
        if fields["code"] in known:
            continue
        values = dict(fields)
        customer = Customer(territory=units[values.pop("territory")], **values)
        records = _purchases(customer.code, customer.monthly_demand_tons, today)
        customer.purchases = [r for r in records if not _last_month(r.ordered_on, today)]
        exported.setdefault(customer.territory.parent.code, []).extend(
            (customer.code, r) for r in records if _last_month(r.ordered_on, today))
        db.session.add(customer)
        created["customers"] += 1
    db.session.commit()
    for branch_code, orders in sorted(exported.items()):
        _import(units[branch_code], orders, today, now)
    return created


def _month_before(today: date) -> str:
    index = today.year * 12 + today.month - 2
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _last_month(day: date, today: date) -> bool:
    return f"{day:%Y-%m}" == _month_before(today)


def _import(branch: org.OrgUnit, orders: list[tuple[str, PurchaseRecord]], today: date, now: datetime) -> None:
    """Last month's orders of a branch come in as the sales system exports them, imported by the branch's
    business department as the import page does (so the demo has an import to show)."""
    clerk = org.users_with_role(org.BUSINESS_SUPERVISOR, org.department_of(branch, "business").id)[0]
    lines = [",".join(purchases.HEADERS[column][0] for column in purchases.COLUMNS)]
    for code, r in sorted(orders, key=lambda order: (order[1].ordered_on, order[0])):
        lines.append(",".join((code, r.product, str(r.quantity_tons), str(r.amount_yuan), r.ordered_on.isoformat(),
                               r.delivered_on.isoformat(), str(r.delivered_tons), "是" if r.on_time else "否")))
    purchases.import_file(clerk, f"销售系统订单-{branch.name}-{_month_before(today)}.csv", ("\n".join(lines) + "\n").encode(),
                          frozenset({branch.id}), now)


def seed_cases(engine) -> int:
    """Open what the star rating's and the credit rating's schedules opened at their latest firings,
    file a few borrowing requests and record a complaint, so the demo inboxes are not empty; only into
    an empty system, with a new customer's registration waiting for its check. Returns the number of
    cases opened."""
    if db.session.scalar(select(func.count(Instance.id))):
        return 0
    _catch_up(engine, SCHEDULED)
    users = {u.username: u for u in db.session.scalars(select(org.User))}
    for requester, customer_code, purpose, days, consenting in DEMO_CASES:
        customer = db.session.scalar(select(Customer).where(Customer.code == customer_code))
        instance = engine.cases.start("dossier_borrowing", users[requester],
                                {"customer_id": customer.id, "purpose": purpose, "days": days})
        for username in consenting:
            task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN))
            engine.cases.complete(task.id, users[username], {"decision": "approve", "comment": "同意"})
    customer = db.session.scalar(select(Customer).where(Customer.code == "HD-E1-002"))
    engine.cases.start(complaints.PROCESS_KEY, users["rep_e1"],
                 {"customer_id": customer.id, "channel": "phone", "category": "delivery",
                  "received_at": (engine.clock.now() - timedelta(hours=1)).isoformat(),
                  "content": "客户来电：本周两次配送迟到半天以上，影响车队出车，要求说明原因并保证准时。"})
    seed_registration(engine)
    seed_leads(engine)
    return db.session.scalar(select(func.count(Instance.id)))


# A new customer's registration waiting for the east branch's customer specialist (spec_east), filed by
# rep_e1 with the two documents seed 001 asks for (placeholder files).
DEMO_REGISTRATION = {
    "name": "上海临港新能源物流有限公司", "kind": DIRECT, "territory": "E1", "address": "上海市浦东新区临港大道 88 号",
    "licence_number": "91310115MA1K4Q8R2X", "legal_representative": "陈国栋", "contact1_name": "陈立",
    "contact1_mobile": "13800138000", "contact2_name": "", "contact2_mobile": "", "other_contacts": "",
    "invoice_type": "增值税专用发票", "monthly_demand_tons": "120", "equipment": "50 吨储油罐 2 座",
    "transport": "自有槽车 3 辆", "business_scope": "道路货物运输；仓储服务；成品油（柴油）零售",
    "visit_notes": "拜访陈总：车队 40 辆重卡，月用柴油约 120 吨，希望月结。",
}
DEMO_DOCUMENTS = [("营业执照（扫描件）.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
                  ("法定代表人身份证（复印件）.pdf",
                   b"%PDF-1.4\n1 0 obj << /Type /Catalog /Lang (zh) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")]


def seed_registration(engine) -> Instance:
    """File the demo's registration of a new customer, waiting for the customer specialist."""
    rep = db.session.scalar(select(org.User).where(org.User.username == "rep_e1"))
    instance = engine.cases.start("customer_registration", rep, dict(DEMO_REGISTRATION))
    engine.cases.attach(instance.id, rep, DEMO_DOCUMENTS)
    return instance


def _catch_up(engine, process_keys: tuple[str, ...]) -> None:
    """Open what the processes' schedules opened at their latest firings before now, as a timer worker
    running all along would have: each case at its firing, each deadline since then passing at its time."""
    clock = engine.clock
    now, frozen = clock.now(), clock.frozen
    for key in process_keys:
        definition = definitions.latest_definition(key)
        latest = schedules.parse(definition.schedule).last_before(now)
        # The wake-up goes back to that firing: the worker catches up on it as on one it missed.
        schedules.sync(definition, latest - TICK)
    db.session.commit()
    try:
        while (due := engine.timers.next_due_at()) is not None and due < now:
            clock.set(due + TICK)  # a timer fires once its time has passed
            engine.timers.fire_next_due()
    finally:
        clock.set(frozen)


def _purchases(code: str, monthly_tons: Decimal, today: date) -> list[PurchaseRecord]:
    """Orders in each of the last PURCHASE_MONTHS calendar months and in this month so far, around the
    customer's usual demand, the same on every run."""
    rng = random.Random(code)
    products = [p for p in PRODUCTS if rng.random() < 0.7] or ["0号柴油"]
    records = []
    for months_back in range(PURCHASE_MONTHS, -1, -1):
        month_index = today.year * 12 + today.month - 1 - months_back  # calendar months, whatever their lengths
        month_start = date(month_index // 12, month_index % 12 + 1, 1)
        for _ in range(rng.randint(2, 4)):
            product = rng.choice(products)
            low, high = PRODUCTS[product]
            tons = (monthly_tons / 3 * Decimal(rng.uniform(0.6, 1.4))).quantize(Decimal("0.01"))
            price = Decimal(rng.randint(low, high))
            ordered = month_start + timedelta(days=rng.randint(0, 26))
            if ordered > today:
                continue
            late = rng.random() < 0.1  # one delivery in ten is late, and then perhaps short
            records.append(PurchaseRecord(ordered_on=ordered, delivered_on=ordered + timedelta(days=rng.randint(0, 2)),
                                          product=product, quantity_tons=tons,
                                          amount_yuan=(tons * price).quantize(Decimal("0.01")),
                                          delivered_tons=tons - (Decimal(rng.randint(0, 2)) if late else 0),
                                          on_time=not late))
    return records


# The demo's leads, one in each stage of seed 002 (市场信息采集 → 收集拟似客户 → 筛选确定潜在客户 → 选择目标客户
# → 转变为现实客户): (rep, territory, candidate's name, kind, expected tons, source, what was learned,
# the decisions taken so far as (step, user, decision, comment), contacts as (days ago, kind, notes),
# whether its first order is in).
DEMO_LEADS = [
    ("rep_e1", "E1", "上海外高桥冷链物流有限公司", DIRECT, "180", "rep_feedback",
     "客户车队 35 辆冷藏车，现由两家民营加油站供油，对价格和开票不满意。", [], [], False),
    ("rep_e2", "E2", "苏州工业园区通达客运有限公司", DIRECT, "260", "industry_meeting",
     "江苏道路运输协会年会上结识，公交及客运车辆 120 台，正在招标柴油供应商。",
     [("screen_candidate", "rep_e2", "propose", "符合重点客户条件，尚未与我司发生业务")], [], False),
    ("rep_e1", "E1", "上海临港重型装备制造有限公司", DIRECT, "420", "internet",
     "网上招标信息：新建厂区需要柴油及润滑油，年用量约 5000 吨。",
     [("screen_candidate", "rep_e1", "propose", "年用量大，符合重点客户条件"),
      ("confirm_potential", "salesmgr_east", "approve", "同意，建立潜在客户档案")],
     [(12, "telephone", "电话联系采购部王经理，介绍我司柴油产品和配送能力。"),
      (8, "materials", "寄送公司宣传资料和产品目录。"),
      (3, "visit", "上门拜访，了解油库容量，对方希望月结。")], False),
    ("rep_e2", "E2", "昆山华通建材贸易有限公司", DISTRIBUTOR, "300", "customer_referral",
     "老客户昆山港城公交介绍：建材经销商，下游工地用油量大。",
     [("screen_candidate", "rep_e2", "propose", "分销能力强"),
      ("confirm_potential", "salesmgr_east", "approve", ""),
      ("develop_potential", "rep_e2", "propose_target", "两次拜访，意向明确，请选为目标客户")],
     [(6, "visit", "拜访总经理，对方愿意试订一车。")], False),
    ("rep_e1", "E1", "上海浦东机场地勤服务有限公司", DIRECT, "150", "supplier",
     "设备供应商提供线索：机场地勤车辆更新，计划更换供油单位。",
     [("screen_candidate", "rep_e1", "propose", ""), ("confirm_potential", "salesmgr_east", "approve", ""),
      ("develop_potential", "rep_e1", "propose_target", "已报价"),
      ("choose_target", "salesmgr_east", "approve", "选为目标客户，争取本月首单")],
     [(5, "telephone", "报价已发出，等待对方确认首单。")], False),
    ("rep_e1", "E1", "上海东海港务拖轮有限公司", DIRECT, "90", "industry_meeting",
     "港口行业会议：拖轮船队用油，原供应商合同到期。",
     [("screen_candidate", "rep_e1", "propose", ""), ("confirm_potential", "salesmgr_east", "approve", ""),
      ("develop_potential", "rep_e1", "propose_target", ""), ("choose_target", "salesmgr_east", "approve", "")],
     [(20, "visit", "拜访船队负责人。"), (10, "telephone", "确认首单数量。")], True),
]


# What each demo lead's rep learned of where it is and whom to talk to: address, contact, mobile, products.
LEAD_DETAILS = {
    "上海外高桥冷链物流有限公司": ("上海市浦东新区洲海路 999 号", "周建国", "13917230051", "0号柴油"),
    "苏州工业园区通达客运有限公司": ("苏州工业园区星湖街 328 号", "顾晓明", "13962140087", "0号柴油"),
    "上海临港重型装备制造有限公司": ("上海市浦东新区临港新城重装备产业区 1 号", "王经理", "13816620394", "0号柴油、润滑油"),
    "昆山华通建材贸易有限公司": ("昆山市玉山镇前进西路 1800 号", "沈丽", "13773160542", "0号柴油、92号汽油"),
    "上海浦东机场地勤服务有限公司": ("上海市浦东新区机场镇迎宾大道 6000 号", "陆海峰", "13601850276", "0号柴油、92号汽油"),
    "上海东海港务拖轮有限公司": ("上海市浦东新区东塘路 1 号", "邵建华", "13701980663", "船用柴油"),
}


def seed_leads(engine) -> list[Instance]:
    """Open the demo's leads and take each as far as its stage: a candidate waiting for the rep's screening,
    one for the sales manager's confirmation, a potential customer with its contacts being developed, one
    waiting to be chosen as a target, a target waiting for its first order, and one whose first order
    made it a customer."""
    from app.domain import leads

    users = {u.username: u for u in db.session.scalars(select(org.User))}
    now = engine.clock.now()
    opened = []
    for rep, territory, name, kind, tons, source, learned, steps, contacts, ordered in DEMO_LEADS:
        leftover = db.session.scalar(select(Customer).where(Customer.name == name, Customer.potential.is_(True)))
        if leftover is not None or db.session.scalar(select(Customer.id).where(Customer.name == name)):
            continue  # seeded before (its cases were cleared since): not twice
        address, contact, mobile, products = LEAD_DETAILS[name]
        instance = engine.cases.start(leads.PROCESS_KEY, users[rep], {
            "territory": territory, "source": source, "learned": learned, "name": name, "kind": kind,
            "address": address, "contact1_name": contact, "contact1_mobile": mobile, "contact2_name": "",
            "contact2_mobile": "", "other_contacts": "", "expected_monthly_tons": tons, "main_products": products,
            "downstream_market": ""})
        for spec, username, decision, comment in steps:
            task = db.session.scalar(select(Task).where(Task.instance_id == instance.id, Task.state == OPEN,
                                                        Task.spec_id == spec))
            engine.cases.complete(task.id, users[username], {"decision": decision, "comment": comment})
        db.session.expire_all()
        instance = db.session.get(Instance, instance.id)
        if instance.customer_id is not None:
            customer = db.session.get(Customer, instance.customer_id)
            for days_ago, contact_kind, notes in contacts:
                leads.log_contact(customer, users[rep], {"kind": contact_kind, "notes": notes,
                                                         "contacted_on": local(now).date() - timedelta(days=days_ago)},
                                  now)
            if ordered:
                clerk = users["spec_east"]
                purchases.record(clerk, {
                    purchases.CUSTOMER_CODE: customer.code, purchases.PRODUCT: "0号柴油",
                    purchases.TONS: Decimal("30"), purchases.AMOUNT: Decimal("216000"),
                    purchases.ORDERED_ON: local(now).date(), purchases.DELIVERED_ON: None,
                    purchases.DELIVERED_TONS: None, purchases.ON_TIME: None}, frozenset({customer.branch.id}), now)
        opened.append(instance)
    return opened
