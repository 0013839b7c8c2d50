"""Who may read a dossier, and the log of every read (seeds 000, 001: dossiers are trade secrets)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app import db
from app.domain import org
from app.domain.customers import Customer, DossierLoan, DossierRead, PurchaseRecord
from app.errors import NotFound
from app.i18n import _l

OWN_TERRITORY, LOAN = "own_territory", "loan"


def get_customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_l("No such customer."))
    return customer


def is_owning_rep(user: org.User, customer: Customer) -> bool:
    return user.has_role(org.SALES_REP, customer.territory_id)


def active_loan(user: org.User, customer: Customer, now: datetime) -> DossierLoan | None:
    return db.session.scalar(
        select(DossierLoan).where(DossierLoan.customer_id == customer.id, DossierLoan.borrower_id == user.id,
                                  DossierLoan.starts_at <= now, DossierLoan.expires_at > now)
        .order_by(DossierLoan.expires_at.desc()).limit(1))


def ground(user: org.User, customer: Customer, now: datetime) -> tuple[str, DossierLoan | None] | None:
    """On what ground this user may read the dossier now: his own territory, or a loan (None: none)."""
    if is_owning_rep(user, customer):
        return OWN_TERRITORY, None
    loan = active_loan(user, customer, now)
    return (LOAN, loan) if loan is not None else None


def log_read(user: org.User, customer: Customer, on: tuple[str, DossierLoan | None], now: datetime,
             channel: str) -> DossierRead:
    """Log a read the policy allowed, with its ground (and loan)."""
    read_ground, loan = on
    entry = DossierRead(customer_id=customer.id, user_id=user.id, loan_id=loan.id if loan else None,
                        ground=read_ground, channel=channel, at=now)
    db.session.add(entry)
    db.session.commit()
    return entry


def access_log(customer: Customer, limit: int = 200) -> list[DossierRead]:
    return list(db.session.scalars(
        select(DossierRead).where(DossierRead.customer_id == customer.id)
        .order_by(DossierRead.at.desc(), DossierRead.id.desc()).limit(limit)))


def reads_under_case(instance_id: int) -> list[DossierRead]:
    """Every read made under the loan a borrowing case granted, oldest first."""
    return list(db.session.scalars(
        select(DossierRead).join(DossierLoan, DossierRead.loan_id == DossierLoan.id)
        .where(DossierLoan.instance_id == instance_id).order_by(DossierRead.at, DossierRead.id)))


def loans_of(user: org.User) -> list[DossierLoan]:
    return list(db.session.scalars(
        select(DossierLoan).where(DossierLoan.borrower_id == user.id).order_by(DossierLoan.starts_at.desc())))


def purchase_totals(customer: Customer) -> dict:
    """System-generated dossier fields (seed 003): computed from purchase records, never typed in."""
    tons, amount, orders = db.session.execute(
        select(func.coalesce(func.sum(PurchaseRecord.quantity_tons), 0),
               func.coalesce(func.sum(PurchaseRecord.amount_yuan), 0), func.count(PurchaseRecord.id))
        .where(PurchaseRecord.customer_id == customer.id)).one()
    return {"orders": orders, "tons": tons, "amount": amount,
            "average_price": (amount / tons) if tons else None}
