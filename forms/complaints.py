"""The forms of `complaint_handling`: intake, acknowledgement, investigation (with the decision table's
proposal), handling, the deputy's plan and confirmation, the report of the person responsible, and
the feedback to the customer."""
import operator

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    RadioField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import db, labels
from app.calendar import local
from app.domain import complaints, org
from app.domain.customers import Customer
from app.domain.org import User
from forms.common import (
    WITHIN_A_YEAR,
    ApproveOrReturnForm,
    Dated,
    choice,
    customer_choices,
    customer_field,
)

CHANNELS = labels.choices(labels.CHANNELS)
CATEGORIES = labels.choices(labels.COMPLAINT_CATEGORIES)
SEVERITIES = labels.choices(labels.SEVERITIES)
RESPONSES = labels.choices(labels.CUSTOMER_RESPONSES)
LONG_TEXT = [DataRequired(), Length(max=4000)]


class ComplaintIntakeForm(FlaskForm):
    """Start form: whoever received the complaint records it; it goes at once to the sales manager."""

    customer_id = customer_field()
    channel = choice(_l("Received by"), choices=CHANNELS)
    # Not in the future: the intake's rule (app.domain.complaints.prepare_intake) says so for every caller.
    received_at = DateTimeLocalField(_l("Received at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()],
                                     description=_l("When the customer complained (company time)."))
    category = choice(_l("Category"), choices=CATEGORIES)
    content = TextAreaField(_l("What the customer said"), validators=LONG_TEXT)
    attachments = MultipleFileField(_l("Attachments"),
                                    description=_l("A letter's scan, photos: PDF, JPEG, PNG or office documents, "
                                                   "10 MB each."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices(user)

    def validate_received_at(self, field):
        """Not before the customer existed for the company: the start of cooperation its dossier records (a
        dossier without one sets no lower bound)."""
        customer = db.session.get(Customer, self.customer_id.data) if self.customer_id.data else None
        if field.data and customer is not None and customer.cooperation_since \
                and field.data.date() < customer.cooperation_since:
            raise ValidationError(_l("%(name)s has been a customer since %(since)s: a complaint cannot be received "
                                     "before.", name=customer.name, since=customer.cooperation_since.isoformat()))


ACKNOWLEDGEMENTS = [
    SelectChoice(complaints.IS_COMPLAINT, _l("A complaint: I take it on")),
    SelectChoice(complaints.NOT_A_COMPLAINT, _l("Not a complaint (recorded by mistake): close it, the branch "
                                                "manager is told")),
]


class ComplaintAcknowledgeForm(FlaskForm):
    """The sales manager confirms he has the complaint (the acknowledgement time is measured), or closes one
    recorded by mistake as not a complaint with his reason. A complaint is never withdrawn (seed 004)."""

    acknowledgement = RadioField(_l("This is"), choices=ACKNOWLEDGEMENTS, validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)],
                         description=_l("First steps, who you contacted; for what is not a complaint, why."))

    def validate_note(self, field):
        if self.acknowledgement.data == complaints.NOT_A_COMPLAINT and not (field.data or "").strip():
            raise ValidationError(_l("Say why this is not a complaint: the branch manager reads it."))


class ComplaintInvestigationForm(FlaskForm):
    """The sales manager's investigation and class. The decision table proposes the class from the
    facts; classifying otherwise needs a reason."""

    template = "forms/complaint_investigation.html"
    findings = TextAreaField(_l("Findings"), validators=LONG_TEXT,
                             description=_l("What happened, as the investigation found it."))
    responsible = StringField(_l("Person or unit at fault"), validators=[Length(max=200)],
                              description=_l("Leave empty if nobody was at fault."))
    safety_issue = BooleanField(_l("A safety issue"))
    claimed_loss_yuan = DecimalField(_l("Loss the customer claims (yuan)"), places=2,
                                     validators=[Optional(), NumberRange(min=0)])
    severity = RadioField(_l("Class"), choices=SEVERITIES, validators=[InputRequired()])
    reason = TextAreaField(_l("Reason for classifying otherwise than proposed"), validators=[Length(max=1000)])

    def for_task(self, task):
        self.facts = complaints.facts(complaints.complaint_of(task.instance_id))
        self.definition = task.instance.definition
        self.proposal = self.proposed(safety_issue=False, claimed_loss_yuan=None)
        return self

    def proposed(self, **findings) -> str:
        inputs = complaints.severity_inputs({**self.facts, **findings})
        return current_app.extensions["engine"].decide(self.definition, "complaint_severity", inputs)["severity"]

    def context(self) -> dict:
        return {"facts": self.facts, "proposed_severity": self.proposal}

    def validate_reason(self, field):
        proposal = self.proposed(safety_issue=self.safety_issue.data, claimed_loss_yuan=self.claimed_loss_yuan.data)
        if self.severity.data and self.severity.data != proposal and not (field.data or "").strip():
            raise ValidationError(_l("The decision table proposes “%(proposal)s”: give a reason to classify otherwise.",
                                     proposal=labels.label(labels.SEVERITIES, proposal)))


class ComplaintHandlingRecordForm(FlaskForm):
    """A general complaint: what the sales manager did about it."""

    actions = TextAreaField(_l("Actions taken"), validators=LONG_TEXT)


def responsible_candidates(branch_id: int) -> list[User]:
    """Whom a major complaint's plan may make responsible: the active people of the customer's branch, then
    of headquarters; compliance reviewers and process administrators (only those roles) aside."""
    bystanders = {org.AUDITOR, org.ADMIN}
    people = [u for u in db.session.scalars(select(User).where(User.active).order_by(User.org_unit_id, User.id))
              if any(m.role.code not in bystanders for m in u.memberships)]
    branch_of = {u.id: org.branch_of(u.org_unit) for u in people}
    return ([u for u in people if branch_of[u.id] is not None and branch_of[u.id].id == branch_id]
            + [u for u in people if branch_of[u.id] is None])


class ComplaintPlanForm(FlaskForm):
    """A major complaint: the deputy general manager's handling plan."""

    task = None  # set by forms.task_form: whom the plan may name depends on the customer's branch
    measures = TextAreaField(_l("Measures planned"), validators=LONG_TEXT)
    responsible_person_id = choice(_l("Person responsible"), searchable=True, coerce=int, validate_choice=False,
                                   description=_l("People of the customer's branch and of headquarters."))
    due_on = DateField(_l("To be done by"), validators=[
        InputRequired(), Dated(operator.ge, _l("The plan cannot be due in the past: today at the earliest.")),
        WITHIN_A_YEAR])

    def candidates(self) -> list[User]:
        return responsible_candidates(self.task.instance.start_data["branch_id"])

    def fill_choices(self, user):
        headquarters = org.headquarters()
        self.responsible_person_id.choices = [
            SelectChoice(u.id, f"{u.display_name} · {u.org_unit.name}",
                         optgroup=(org.branch_of(u.org_unit) or headquarters).name)
            for u in self.candidates()]

    def validate_responsible_person_id(self, field):
        person = db.session.get(User, field.data)
        if person is None or not person.active:
            raise ValidationError(_l("Choose an active person."))
        if person not in self.candidates():
            raise ValidationError(_l("Choose a person of the customer's branch or of headquarters."))


class ComplaintExecutionForm(FlaskForm):
    """The person responsible reports what was done."""

    report = TextAreaField(_l("Report"), validators=LONG_TEXT)


class ComplaintConfirmationForm(ApproveOrReturnForm):
    """The deputy confirms the plan was carried out, or sends it back."""

    approve_label, return_label = _l("Done"), _l("Send back")
    comment_needed = _l("Say what is still missing.")


class ComplaintFeedbackForm(FlaskForm):
    """The customer is told the result, whatever it is; a case cannot end without this."""

    task = None  # set by forms.task_form: the customer is told after the complaint was received
    told_how = choice(_l("Told by"), choices=CHANNELS)
    told_at = DateTimeLocalField(_l("Told at"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(), Dated(operator.le, _l("The customer cannot have been told later than now."))])
    customer_response = RadioField(_l("The customer is"), choices=RESPONSES, validators=[InputRequired()])
    customer_words = TextAreaField(_l("What the customer said about the result"), validators=[Length(max=2000)])

    def validate_told_at(self, field):
        received = local(complaints.complaint_of(self.task.instance_id).received_at).replace(tzinfo=None)
        if field.data and field.data < received:
            raise ValidationError(_l("The complaint was received on %(received)s: the customer is told after that.",
                                     received=received.strftime("%Y-%m-%d %H:%M")))


FORMS = {
    "complaint_intake": ComplaintIntakeForm,
    "complaint_acknowledge": ComplaintAcknowledgeForm,
    "complaint_investigation": ComplaintInvestigationForm,
    "complaint_handling_record": ComplaintHandlingRecordForm,
    "complaint_plan": ComplaintPlanForm,
    "complaint_execution": ComplaintExecutionForm,
    "complaint_confirmation": ComplaintConfirmationForm,
    "complaint_feedback": ComplaintFeedbackForm,
}
