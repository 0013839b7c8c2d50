"""One-star coaching (一星级客户的辅导和解释, seed 000, DOMAIN §2): "各分公司须加大对所辖区域内的一星级客户的
投入力度，对他们给予辅导和解释，帮助他们成为二星级以上客户".

Every customer whose month's star rating ends at one star gets a coaching case for the rep of its
territory (processes/one_star_coaching.bpmn): the rep records what he explained to the customer and what
the customer will do, and names a day of the next month to follow up; on that day he records whether the
customer did what it said, shown the stars of the month after the one rated (from StarRating) beside
its one star. Both go into the customer's dossier (`OneStarCoaching`, one row per customer and month).

Opening the cases: the stars become final in the star rating's `finalize` service, inside HQ's approval;
the engine has no way for a service to open a case of another process, so the application opens them on
a schedule, as it opens the monthly ratings: every day at 08:00 (company time) it opens a case for every
final one-star rating of the last two months rated that has none yet (`scheduled_starts`), each under the
unique key `one_star_coaching:<customer code>:<month>`, so a case is never opened twice, whether by the
schedule, a resumed firing or a process administrator by hand. A rating approved late is coached the day
after it is approved; a month older than the last two is left to a process administrator.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app import db
from app.db_types import UTCDateTime
from app.domain import org
from app.domain.customers import Customer
from app.domain.star_rating import MONTH, StarRating, previous_month
from app.engine import queries
from app.engine.models import Instance
from app.engine.plugins import CaseStart, Flow, Process, ServiceCall
from app.errors import Conflict, InvalidData
from app.i18n import _l

PROCESS_KEY = "one_star_coaching"
ONE_STAR = 1
RECENT_MONTHS = 2  # the schedule coaches the ratings of the last two months rated (see above)
TEXT_MAX = 2000
# Whether the customer did what it said, as the rep finds at the follow-up.
KEPT, PARTLY, NOT_KEPT = "kept", "partly", "not_kept"
PROMISE_KEPT = {KEPT: _l("Yes, it did what it said"), PARTLY: _l("Partly"), NOT_KEPT: _l("No, it did not")}
FOLLOWED_UP = "one_star_followed_up"  # the event recording the follow-up and the stars it was shown


class OneStarCoaching(db.Model):
    """The rep's coaching of one 1-star customer for one month rated, and its follow-up the month after
    (the dossier's coaching record)."""

    __tablename__ = "one_star_coachings"
    __table_args__ = (UniqueConstraint("customer_id", "month", name="uq_one_star_coachings_customer_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    month: Mapped[str] = mapped_column(String(7))  # the month rated one star
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    explained: Mapped[str] = mapped_column(Text)  # what the rep explained to the customer
    commitments: Mapped[str] = mapped_column(Text)  # what the customer will do
    coached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    follow_up_on: Mapped[date] = mapped_column(Date)
    # The follow-up, once done: did the customer do what it said, what the rep found, and the stars of
    # the month after the one rated as they stood then (None: not final yet).
    kept: Mapped[str | None] = mapped_column(String(10))
    follow_up_note: Mapped[str] = mapped_column(Text, default="")
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    followed_up_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    next_month: Mapped[str | None] = mapped_column(String(7))
    next_stars: Mapped[int | None]

    # `customer.one_star_coachings` (newest month first) is what the dossier's partial reads.
    customer: Mapped[Customer] = relationship(backref=backref(
        "one_star_coachings", viewonly=True, order_by="desc(OneStarCoaching.month)"))
    rep: Mapped[org.User] = relationship(foreign_keys=[rep_id])
    followed_up_by: Mapped[org.User | None] = relationship(foreign_keys=[followed_up_by_id])

    @property
    def kept_words(self) -> str:
        """Whether the customer did what it said, in the reader's language ("" before the follow-up)."""
        return str(PROMISE_KEPT[self.kept]) if self.kept in PROMISE_KEPT else ""


def of_customer(customer_id: int) -> list[OneStarCoaching]:
    """A customer's coaching records, newest month first."""
    return list(db.session.scalars(select(OneStarCoaching).where(OneStarCoaching.customer_id == customer_id)
                                   .order_by(OneStarCoaching.month.desc())))


def of_case(instance_id: int) -> OneStarCoaching | None:
    return db.session.scalar(select(OneStarCoaching).where(OneStarCoaching.instance_id == instance_id))


# -- months and stars ------------------------------------------------------------------------------

def month_after(month: str, months: int = 1) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def follow_up_month(coached: date) -> tuple[date, date]:
    """The days a follow-up may be set on when coaching on `coached`: the next calendar month, as
    [first, following first)."""
    first = date(coached.year + coached.month // 12, coached.month % 12 + 1, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def rating_of(customer_id: int, month: str) -> StarRating | None:
    return db.session.scalar(select(StarRating).where(StarRating.customer_id == customer_id,
                                                      StarRating.month == month))


def comparison(customer_id: int, month: str) -> dict:
    """What the follow-up is shown: the month coached (one star) beside the month after it, final or not."""
    following = month_after(month)
    rating = rating_of(customer_id, following)
    return {"month": month, "stars": ONE_STAR, "next_month": following,
            "next_stars": rating.stars if rating is not None else None,
            "next_final": rating is not None and rating.stars is not None,
            # the branch's (or HQ's second round's) stars while the rating is still under way
            "next_proposed_stars": rating.decided_stars if rating is not None and rating.stars is None else None}


# -- starting --------------------------------------------------------------------------------------

def _refused(field: str, message) -> InvalidData:
    return InvalidData(message, {field: [message]})


def _customer(data: dict) -> Customer:
    value = data.get("customer_id", data.get("customer"))
    customer = None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        customer = db.session.get(Customer, int(value))
    elif isinstance(value, str) and value:
        customer = db.session.scalar(select(Customer).where(Customer.code == value))
    if customer is None:
        raise _refused("customer_id", _l("Unknown customer."))
    return customer


def unique_key(customer: Customer, month: str) -> str:
    return f"{PROCESS_KEY}:{customer.code}:{month}"


def prepare_start(data: dict, _starter, now: datetime, resubmitting: int | None = None) -> CaseStart:
    """One customer's coaching for one month whose final rating gave it one star; never a second one."""
    customer = _customer(data)
    month = str(data.get("month") or "").strip()
    if not MONTH.match(month):
        raise _refused("month", _l("A month is written YYYY-MM, e.g. 2026-10."))
    rating = rating_of(customer.id, month)
    if rating is None or rating.stars != ONE_STAR:
        raise _refused("month", _l("%(code)s has no final one-star rating for %(month)s.",
                                   code=customer.code, month=month))
    key = unique_key(customer, month)
    existing = queries.case_with_key(key, besides=resubmitting)
    if existing is not None:
        message = _l("%(code)s already has a coaching case for %(month)s (case %(id)s).",
                     code=customer.code, month=month, id=existing)
        raise Conflict.on("month", message)
    territory, branch = customer.territory, customer.branch
    reps = org.users_with_role(org.SALES_REP, territory.id)
    return CaseStart(data={"customer_id": customer.id, "customer_code": customer.code,
                           "customer_name": customer.name, "territory_id": territory.id,
                           "territory_code": territory.code, "branch_id": branch.id, "branch_name": branch.name,
                           "rep_name": reps[0].display_name if reps else "", "month": month,
                           "next_month": month_after(month)},
                     business_key=f"customer:{customer.code}", customer_id=customer.id, unique_key=key)


def scheduled_starts(due: datetime) -> list[dict]:
    """What a daily firing opens: a coaching case for every final one-star rating of the last two months
    rated (the month before `due`'s and the one before it) that has none yet."""
    newest = previous_month(due)
    months = [month_after(newest, -back) for back in range(RECENT_MONTHS)]
    rated = db.session.execute(
        select(Customer.id, Customer.code, StarRating.month).join(StarRating, StarRating.customer_id == Customer.id)
        .where(StarRating.stars == ONE_STAR, StarRating.month.in_(months))
        .order_by(StarRating.month, Customer.code)).all()
    keys = {f"{PROCESS_KEY}:{code}:{month}" for _id, code, month in rated}
    opened = set(db.session.scalars(select(Instance.unique_key).where(Instance.unique_key.in_(keys)))) if keys else set()
    return [{"customer_id": customer_id, "month": month} for customer_id, code, month in rated
            if f"{PROCESS_KEY}:{code}:{month}" not in opened]


# -- the services the BPMN calls -------------------------------------------------------------------

def file_coaching(call: ServiceCall) -> dict:
    """Service task `file_one_star_coaching`: what the rep explained and what the customer will do go
    into the dossier, with the day he follows up (a coaching filed again replaces the earlier words)."""
    data, case = call.data, call.case
    record = of_case(case.instance.id) or OneStarCoaching(instance_id=case.instance.id,
                                                          customer_id=data["customer_id"], month=data["month"])
    record.rep_id, record.coached_at = case.actor.id, case.now
    record.explained, record.commitments = data["explained"].strip(), data["commitments"].strip()
    record.follow_up_on = date.fromisoformat(str(data["follow_up_on"])[:10])
    db.session.add(record)
    return {}


def file_follow_up(call: ServiceCall) -> dict:
    """Service task `file_one_star_follow_up`: whether the customer did what it said and what the rep
    found, with the next month's stars as they stand now, into the dossier."""
    data, case = call.data, call.case
    record = of_case(case.instance.id)
    shown = comparison(data["customer_id"], data["month"])
    record.kept, record.follow_up_note = data["kept"], data["note"].strip()
    record.followed_up_at, record.followed_up_by_id = case.now, case.actor.id
    record.next_month, record.next_stars = shown["next_month"], shown["next_stars"]
    case.record(FOLLOWED_UP, {"kept": record.kept, "next_month": record.next_month, "next_stars": record.next_stars})
    return {"next_stars": record.next_stars}


FLOW = Flow(
    name="one_star_coaching",
    processes={PROCESS_KEY: Process(start=prepare_start, scheduled=scheduled_starts,
                                    starters=frozenset({org.ADMIN}))},
    forms="forms.coaching",
    services={"file_one_star_coaching": file_coaching, "file_one_star_follow_up": file_follow_up},
    comment_fields=("explained", "commitments"),
    tables=(OneStarCoaching,),
    event_words={FOLLOWED_UP: _l("Coaching followed up")},
    outcome_words={"followed_up": _l("Coached and followed up")},
    form_words={
        "one_star_coaching_start": _l("Opening a one-star customer's coaching"),
        "one_star_coaching": _l("Rep's coaching of a one-star customer"),
        "one_star_follow_up": _l("Rep's follow-up of a one-star customer's coaching"),
    },
)
