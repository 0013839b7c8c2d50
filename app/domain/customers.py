"""Customers, their dossiers (trade secrets), purchase records, loans and the read log."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime
from app.domain.org import OrgUnit, User
from app.extensions import db

DISTRIBUTOR, DIRECT = "distributor", "direct"


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # branch + territory + sequence, e.g. HD-E1-003 (seed 000, 表一)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # distributor | direct
    territory_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)

    # Static dossier fields
    address: Mapped[str] = mapped_column(String(200), default="")
    registered_capital_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # 万元
    cooperation_since: Mapped[date | None]
    business_scope: Mapped[str] = mapped_column(Text, default="")
    product_lines: Mapped[str] = mapped_column(String(200), default="")
    main_products: Mapped[str] = mapped_column(String(200), default="")
    downstream_market: Mapped[str] = mapped_column(String(200), default="")
    contact1_name: Mapped[str] = mapped_column(String(60), default="")
    contact1_mobile: Mapped[str] = mapped_column(String(30), default="")
    contact2_name: Mapped[str] = mapped_column(String(60), default="")
    contact2_mobile: Mapped[str] = mapped_column(String(30), default="")
    other_contacts: Mapped[str] = mapped_column(String(200), default="")
    invoice_type: Mapped[str] = mapped_column(String(40), default="")
    monthly_demand_tons: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    equipment: Mapped[str] = mapped_column(String(200), default="")
    transport: Mapped[str] = mapped_column(String(200), default="")
    # Dynamic dossier fields
    status: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    settlement_method: Mapped[str] = mapped_column(String(60), default="")
    bank_account: Mapped[str] = mapped_column(String(80), default="")
    delivery_route: Mapped[str] = mapped_column(String(200), default="")
    order_cycle: Mapped[str] = mapped_column(String(60), default="")
    visit_cycle: Mapped[str] = mapped_column(String(60), default="")
    # System-generated: the star rating's preferential policy, recomputed when a month is approved
    # (app.domain.star_rating.refresh_preferences).
    resource_guarantee: Mapped[bool] = mapped_column(default=False)
    extra_discount_yuan_per_ton: Mapped[int] = mapped_column(default=0)

    territory: Mapped[OrgUnit] = relationship(lazy="joined")
    purchases: Mapped[list[PurchaseRecord]] = relationship(
        back_populates="customer", order_by="PurchaseRecord.ordered_on.desc()")

    @property
    def branch(self) -> OrgUnit:
        return self.territory.parent


class PurchaseRecord(db.Model):
    __tablename__ = "purchase_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    ordered_on: Mapped[date]
    delivered_on: Mapped[date | None]
    product: Mapped[str] = mapped_column(String(80))
    quantity_tons: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    customer: Mapped[Customer] = relationship(back_populates="purchases")


class DossierLoan(db.Model):
    """Read-only access to one dossier for one borrower, granted by a completed borrowing case."""

    __tablename__ = "dossier_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    purpose: Mapped[str] = mapped_column(Text)
    days: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    borrower: Mapped[User] = relationship()

    def is_active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.expires_at


class DossierRead(db.Model):
    """Every read of a dossier, and the ground it was allowed on. Append-only."""

    __tablename__ = "dossier_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_loans.id"), index=True)
    ground: Mapped[str] = mapped_column(String(20))  # own_territory | loan
    channel: Mapped[str] = mapped_column(String(10))  # page | api
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
    loan: Mapped[DossierLoan | None] = relationship()


def summary(customer_id) -> dict | None:
    """What a process definition may read of a customer (sandbox helper `customer(id)`): no dossier
    secrets, just who it is and where it belongs."""
    customer = db.session.get(Customer, customer_id) if isinstance(customer_id, int) else None
    if customer is None:
        return None
    return {"id": customer.id, "code": customer.code, "name": customer.name, "kind": customer.kind,
            "territory": customer.territory.code, "branch": customer.branch.code,
            "resource_guarantee": customer.resource_guarantee,
            "extra_discount_yuan_per_ton": customer.extra_discount_yuan_per_ton}
