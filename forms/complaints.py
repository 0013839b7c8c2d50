"""The forms of `complaint_handling`: intake, acknowledgement, investigation (with the decision table's
proposal), handling, the deputy's plan and confirmation, the report of the person responsible, and
the feedback to the customer."""
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
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import db, labels
from app.domain import complaints
from app.domain.org import User
from forms.common import ApproveOrReturnForm, customer_choices

CHANNELS = labels.choices(labels.CHANNELS)
CATEGORIES = labels.choices(labels.COMPLAINT_CATEGORIES)
SEVERITIES = labels.choices(labels.SEVERITIES)
RESPONSES = labels.choices(labels.CUSTOMER_RESPONSES)
LONG_TEXT = [DataRequired(), Length(max=4000)]


class ComplaintIntakeForm(FlaskForm):
    """Start form: whoever received the complaint records it; it goes at once to the sales manager."""

    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False, validators=[InputRequired()])
    channel = SelectField(_l("Received by"), choices=CHANNELS, validators=[InputRequired()])
    received_at = DateTimeLocalField(_l("Received at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()],
                                     description=_l("When the customer complained (company time)."))
    category = SelectField(_l("Category"), choices=CATEGORIES, validators=[InputRequired()])
    content = TextAreaField(_l("What the customer said"), validators=LONG_TEXT)
    attachments = MultipleFileField(_l("Attachments"),
                                    description=_l("A letter's scan, photos: PDF, JPEG, PNG or office documents, "
                                                   "10 MB each."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices()


class ComplaintAcknowledgeForm(FlaskForm):
    """The sales manager confirms he has the complaint; the acknowledgement time is measured."""

    note = TextAreaField(_l("Note"), validators=[Length(max=1000)],
                         description=_l("Optional: first steps, who you contacted."))


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


class ComplaintPlanForm(FlaskForm):
    """A major complaint: the deputy general manager's handling plan."""

    measures = TextAreaField(_l("Measures"), validators=LONG_TEXT)
    responsible_person_id = SelectField(_l("Person responsible"), coerce=int, validate_choice=False,
                                        validators=[InputRequired()])
    due_on = DateField(_l("To be done by"), validators=[InputRequired()])

    def fill_choices(self, user):
        self.responsible_person_id.choices = [SelectChoice(u.id, f"{u.display_name} · {u.org_unit.name}")
                                              for u in db.session.scalars(select(User).where(User.active)
                                                                          .order_by(User.org_unit_id, User.id))]

    def validate_responsible_person_id(self, field):
        person = db.session.get(User, field.data)
        if person is None or not person.active:
            raise ValidationError(_l("Choose an active person."))


class ComplaintExecutionForm(FlaskForm):
    """The person responsible reports what was done."""

    report = TextAreaField(_l("Report"), validators=LONG_TEXT)


class ComplaintConfirmationForm(ApproveOrReturnForm):
    """The deputy confirms the plan was carried out, or sends it back."""

    approve_label, return_label = _l("Done"), _l("Send back")
    comment_needed = _l("Say what is still missing.")


class ComplaintFeedbackForm(FlaskForm):
    """The customer is told the result, whatever it is; a case cannot end without this."""

    told_how = SelectField(_l("Told by"), choices=CHANNELS, validators=[InputRequired()])
    told_at = DateTimeLocalField(_l("Told at"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    customer_response = RadioField(_l("The customer is"), choices=RESPONSES, validators=[InputRequired()])
    customer_words = TextAreaField(_l("What the customer said"), validators=[Length(max=2000)])


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
