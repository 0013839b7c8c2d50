"""Dossier borrowing (借阅, seeds 000 and 001): what a request must satisfy, and the loan it grants."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app import db
from app.calendar import local_text
from app.domain import org
from app.domain.customers import Customer, DossierLoan
from app.domain.dossiers import active_loan, is_owning_rep
from app.engine.models import RUNNING, Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import InvalidData
from app.i18n import _l

PROCESS_KEY = "dossier_borrowing"


def prepare_request(data: dict, requester: org.User, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """Check a borrowing request against the rules and add the facts the flow decides on (again, when
    the requester revises case `resubmitting` after a send-back)."""
    customer = db.session.get(Customer, data["customer_id"])
    if customer is None:
        raise InvalidData(_l("Unknown customer."), {"customer_id": [_l("Unknown customer.")]})
    if is_owning_rep(requester, customer):
        message = _l("This customer is in your own territory: open the dossier directly.")
        raise InvalidData(message, {"customer_id": [message]})
    loan = active_loan(requester, customer, now)
    if loan is not None:
        message = _l("You can already read this dossier until %(until)s.", until=local_text(loan.expires_at))
        raise InvalidData(message, {"customer_id": [message]})
    pending = db.session.scalar(select(Instance.id).where(
        Instance.process_key == PROCESS_KEY, Instance.status == RUNNING,
        Instance.started_by_id == requester.id, Instance.customer_id == customer.id,
        Instance.id != (resubmitting or 0)).limit(1))
    if pending is not None:
        message = _l("You already have a request for this dossier in progress (case %(id)s).", id=pending)
        raise InvalidData(message, {"customer_id": [message]})
    return CaseStart(
        data={
            "customer_id": customer.id,
            "customer_code": customer.code,
            "customer_name": customer.name,
            "purpose": data["purpose"],
            "days": int(data["days"]),
            # A rep of another territory needs two consents; anyone else needs three (三级同意).
            "requester_is_sales_rep": requester.has_role(org.SALES_REP),
        },
        business_key=f"customer:{customer.id}",
        customer_id=customer.id,
    )


def grant_loan(call: ServiceCall) -> dict:
    """Service task `grant_dossier_loan`: read-only access from now for the requested days."""
    data, case = call.data, call.case
    now = case.now
    loan = DossierLoan(customer_id=data["customer_id"], borrower_id=case.instance.started_by_id,
                       instance_id=case.instance.id, purpose=data["purpose"], days=data["days"],
                       starts_at=now, expires_at=now + timedelta(days=data["days"]))
    db.session.add(loan)
    db.session.flush()
    case.record("loan_granted", {"loan_id": loan.id, "customer_id": loan.customer_id,
                                 "borrower_id": loan.borrower_id, "expires_at": loan.expires_at.isoformat()})
    return {"loan_id": loan.id}


FLOW = Flow(
    name="dossier_borrowing",
    processes={PROCESS_KEY: Process(start=prepare_request)},
    forms="forms.borrowing",
    services={"grant_dossier_loan": grant_loan},
    tables=(DossierLoan,),
    event_words={"loan_granted": _l("Read access granted")},
)
