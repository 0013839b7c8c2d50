"""What the flows' forms share: the customer and branch pickers, the branch-and-month start forms of the
processes run per branch, the approve-or-return decision, and the forms of steps every process may
have (an escalation notice, an added signer's opinion)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Regexp

from app import db
from app.domain import org
from app.domain.customers import Customer

MONTH_FIELD = dict(validators=[InputRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                      message=_l("A month is written YYYY-MM, e.g. 2026-10."))])


def customer_choices() -> list[SelectChoice]:
    """Every customer, grouped by territory, for a page's customer field."""
    customers = db.session.execute(
        select(Customer.id, Customer.code, Customer.name, org.OrgUnit.name.label("territory"))
        .join(org.OrgUnit, Customer.territory_id == org.OrgUnit.id).order_by(Customer.code)).all()
    return [SelectChoice(c.id, f"{c.code} {c.name}", optgroup=c.territory) for c in customers]


class BranchForm(FlaskForm):
    """Start forms of the processes run per branch, opened by the schedule or by hand by a process
    administrator: which branch."""

    branch = SelectField(_l("Branch"), validate_choice=False, validators=[InputRequired()])

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
