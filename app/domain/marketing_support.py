"""Marketing-policy support for a potential customer's first deal (seed 001 §8.3: 与潜在客户发生第一笔交易时,
考虑给予营销政策的支持; processes/marketing_support.bpmn).

The territory's rep asks for a policy (a price discount, credit terms, free delivery …) worth an amount
in yuan, with his reason, for a potential customer of his territory, or for one whose first order has
just made it a customer (it has one order, no more). The branch's sales manager approves or rejects it;
above the amount the process states (its gateway's condition, 50,000 yuan as deployed) HQ marketing
approves too. Who decides is the BPMN's rules; segregation keeps the rep from deciding his own request.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app import db
from app.domain import leads, org
from app.domain.customers import Customer, PurchaseRecord
from app.engine.models import Instance
from app.engine.plugins import CaseStart, Flow, Process
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "marketing_support"
POLICIES = ("price_discount", "credit_terms", "free_delivery", "supply_guarantee", "other")
POLICY_WORDS = {
    "price_discount": _l("Price discount"), "credit_terms": _l("Credit or payment terms"),
    "free_delivery": _l("Free delivery"), "supply_guarantee": _l("Guaranteed supply"), "other": _l("Other policy"),
}
AMOUNT_MAX = 10_000_000



def first_deal_customers(user: org.User) -> list[Customer]:
    """The customers of `user`'s territories whose first deal may be supported: potential ones, and those
    a lead made customers that have one order so far."""
    territories = [t.id for t in leads.territories_of(user)]
    if not territories:
        return []
    orders = (select(func.count(PurchaseRecord.id)).where(PurchaseRecord.customer_id == Customer.id)
              .correlate(Customer).scalar_subquery())
    return list(db.session.scalars(
        select(Customer).join(leads.Lead, leads.Lead.customer_id == Customer.id)
        .where(Customer.territory_id.in_(territories), orders <= 1).order_by(Customer.code)))


def prepare_request(data: dict, user, _now, resubmitting: int | None = None) -> CaseStart:
    try:
        customer_id = int(data.get("customer_id"))
    except (TypeError, ValueError):
        customer_id = None
    customer = next((c for c in first_deal_customers(user) if c.id == customer_id), None)
    if customer is None:
        raise InvalidData.on("customer_id", _l("Ask for support of a first deal of a potential customer of your "
                                         "territory."))
    if data.get("policy") not in POLICIES:
        raise InvalidData.on("policy", _l("Choose the policy asked for."))
    try:
        amount = int(data.get("amount_yuan"))
    except (TypeError, ValueError):
        amount = None
    if amount is None or not 0 < amount <= AMOUNT_MAX:
        raise InvalidData.on("amount_yuan", _l("Give the amount in whole yuan, above 0."))
    if not str(data.get("reason") or "").strip():
        raise InvalidData.on("reason", _l("Say why the deal needs it."))
    branch = customer.branch
    return CaseStart(data={**data, "customer_id": customer.id, "amount_yuan": amount, "customer_code": customer.code,
                           "customer_name": customer.name, "territory_id": customer.territory_id,
                           "branch_id": branch.id, "branch_code": branch.code, "branch_name": branch.name},
                     business_key=f"customer:{customer.code}", customer_id=customer.id)


def of_customer(customer_id: int) -> list[Instance]:
    """The customer's support requests, newest first (its dossier shows them)."""
    return list(db.session.scalars(select(Instance).where(Instance.process_key == PROCESS_KEY,
                                                          Instance.customer_id == customer_id)
                                   .order_by(Instance.id.desc())))


FLOW = Flow(
    name="marketing_support",
    processes={PROCESS_KEY: Process(start=prepare_request, starters=frozenset({org.SALES_REP}))},
    forms="forms.marketing_support",
    comment_fields=("reason",),
    # Its outcomes are the common ones (approved, rejected): their words are labels.OUTCOMES'.
    form_words={
        "marketing_support_request": _l("Marketing-policy support for a first deal"),
        "marketing_support_branch": _l("Sales manager's decision on marketing-policy support"),
        "marketing_support_hq": _l("HQ marketing's decision on marketing-policy support"),
    },
)
