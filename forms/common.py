"""What the flows' forms share: required choices and the customer and branch pickers, the company's
today for the date checks, the branch-and-month start forms of the processes run per branch, the
approve-or-return decision, and the forms of steps every process may have (an escalation notice, an
added signer's opinion)."""
from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp
from wtforms.widgets import Select

from app import db
from app.calendar import clock, local
from app.domain import org
from app.domain.customers import Customer
from app.policy import readable_customer_ids

MONTH_FIELD = dict(validators=[InputRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                      message=_l("A month is written YYYY-MM, e.g. 2026-10."))])



def today() -> date:
    """Today in company time, by the application clock."""
    return local(clock.now()).date()


def now_here() -> datetime:
    """Now in company time without its zone, as a page's date-time field holds a moment."""
    return local(clock.now()).replace(tzinfo=None)


class Dated:
    """A date (or date-time) field checked against now, by the application clock in company time:
    `holds(value, today)` (or `holds(value, now)`) or the field error `message`. A value that is not a
    date is left to the field, which says so."""

    def __init__(self, holds: Callable[[date, date], bool], message):
        self.holds, self.message = holds, message

    def __call__(self, form, field):
        if field.data is None:
            return
        now = now_here() if isinstance(field.data, datetime) else today()
        if not self.holds(field.data, now):
            raise ValidationError(self.message)


# A day further ahead than this is a typing slip (2062 for 2026), not a plan.
HORIZON = timedelta(days=365)
WITHIN_A_YEAR = Dated(lambda day, now: day <= now + HORIZON, _l("That is more than a year ahead: check the date."))


class ChoiceSelect(Select):
    """A select that starts on "Please choose" (an empty value): the first option is never taken for the
    person's choice. `searchable`: app/static/forms.js adds a box that filters a long list."""

    def __init__(self, searchable: bool = False):
        super().__init__()
        self.searchable = searchable

    def __call__(self, field, **kwargs):
        if self.searchable:
            kwargs.setdefault("data_filter", True)
        html = super().__call__(field, **kwargs)
        opened = html.index(">") + 1  # after <select …>: attribute values are escaped, so no ">" in them
        return Markup(html[:opened]) + Markup('<option value="">%s</option>') % _("Please choose") + Markup(html[opened:])


def choice(label, *, searchable: bool = False, **kwargs) -> SelectField:
    """A required choice: it starts empty, and submitting it empty is a field error."""
    return SelectField(label, widget=ChoiceSelect(searchable),
                       validators=[InputRequired(message=_l("Choose one."))], **kwargs)


def customer_field() -> SelectField:
    """A required choice of customer, by id (the flow's rules judge which; `customer_choices` fills it)."""
    return choice(_l("Customer"), searchable=True, coerce=int, validate_choice=False)


def customer_choices(user: org.User, *, leave_out_reach: bool = False) -> list[SelectChoice]:
    """The customers for `user`'s customer field: those he reaches (his territory's, and those on loan to
    him) first, then the rest of his branch, then the others, each by territory. `leave_out_reach`: only
    those he cannot read yet (what he would borrow)."""
    reach = readable_customer_ids(user, clock.now())
    branch = org.branch_of(user.org_unit)
    customers = db.session.execute(
        select(Customer.id, Customer.code, Customer.name, org.OrgUnit.name.label("territory"),
               org.OrgUnit.parent_id.label("branch_id"))
        .join(org.OrgUnit, Customer.territory_id == org.OrgUnit.id).order_by(Customer.code)).all()
    choices = []
    for c in customers:
        if c.id in reach and leave_out_reach:
            continue
        rank = 0 if c.id in reach else 1 if branch is not None and c.branch_id == branch.id else 2
        group = _l("Your customers") if rank == 0 else c.territory
        choices.append((rank, str(group), SelectChoice(c.id, f"{c.code} {c.name}", optgroup=group)))
    choices.sort(key=lambda item: item[:2])  # stable: by code within a group
    return [entry for _rank, _group, entry in choices]


class BranchForm(FlaskForm):
    """Start forms of the processes run per branch, opened by the schedule or by hand by a process
    administrator: which branch."""

    branch = choice(_l("Branch"), validate_choice=False)

    def fill_choices(self, user):
        self.branch.choices = [SelectChoice(code, name) for code, name in db.session.execute(
            select(org.OrgUnit.code, org.OrgUnit.name).where(org.OrgUnit.kind == org.BRANCH)
            .order_by(org.OrgUnit.code))]


class BranchMonthForm(BranchForm):
    month = StringField(_l("Month"), **MONTH_FIELD)


class DecisionForm(FlaskForm):
    """A decision one way (`approve`) or the other (`other`: return the case, or refuse), with a comment
    that the other way needs. The words of the choices and of the missing comment are each form's own."""

    approve_label = _l("Approve")
    other, other_label = "return", _l("Return")
    comment_needed = _l("Say what must change.")

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve"), SelectChoice("return")],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [SelectChoice("approve", self.approve_label),
                                 SelectChoice(self.other, self.other_label)]

    def validate_comment(self, field):
        if self.decision.data == self.other and not (field.data or "").strip():
            raise ValidationError(self.comment_needed)


class ApproveOrReturnForm(DecisionForm):
    """Approve, or return the case with a comment saying what must change."""


class ConsentForm(DecisionForm):
    """Consent, or refuse with a comment: the requester is told why."""

    approve_label, other, other_label = _l("Consent"), "reject", _l("Refuse")
    comment_needed = _l("A refusal needs a comment: the requester is told why.")


class NoticeAcknowledgeForm(FlaskForm):
    """An escalation notice in someone's inbox (a step is overdue): read it, optionally say what
    you will do."""

    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)],
                            description=_l("Optional: what you will do about it."))


class SignerOpinionForm(DecisionForm):
    """An added signer's opinion (加签) on a consent or approval step: agree or not, with a comment."""

    decision = RadioField(_l("Opinion"), choices=[SelectChoice("approve"), SelectChoice("reject")],
                          validators=[InputRequired()])
    approve_label, other, other_label = _l("Agree"), "reject", _l("Disagree")
    comment_needed = _l("Say why you disagree: the approver reads it.")


FORMS = {
    "notice_acknowledge": NoticeAcknowledgeForm,
    "signer_opinion": SignerOpinionForm,
}
