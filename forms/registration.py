"""The forms of `customer_registration`: the rep's basic-information form (with the licence's scan and the
legal representative's ID copy), and the customer specialist's check."""
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DecimalField, RadioField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app import labels
from app.domain import registration
from forms.common import DecisionForm, choice

MOBILE = Regexp(r"^1\d{10}$", message=_l("A mobile number is 11 digits beginning with 1."))
INVOICE_TYPES = [SelectChoice("增值税专用发票", _l("VAT special invoice")),
                 SelectChoice("增值税普通发票", _l("VAT ordinary invoice"))]


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class _Required:
    """A file field a page must carry. Through the API the files are attached to the case after it is
    opened (POST /instances/<id>/attachments): the specialist cannot approve before both are there."""

    def __init__(self, message):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field):
        if getattr(form, "task", None) is not None or (has_request_context() and request.is_json):
            return  # a resubmission keeps the files attached before; the API attaches them to the case
        if not any(getattr(storage, "filename", "") for storage in (field.data or [])):
            raise ValidationError(self.message)


class CustomerRegistrationRequestForm(FlaskForm):
    """Start form: the rep's basic information of a customer he visited (seed 000), for his territory."""

    name = StringField(_l("Name"), filters=[_stripped], validators=[DataRequired(), Length(max=120)])
    kind = RadioField(_l("Kind"), choices=labels.choices(labels.CUSTOMER_KINDS), validators=[InputRequired()])
    territory = choice(_l("Territory"), validate_choice=False,
                       description=_l("Your territory: the customer's dossier belongs to it."))
    address = StringField(_l("Address"), filters=[_stripped], validators=[DataRequired(), Length(max=200)])
    licence_number = StringField(
        _l("Unified social credit code"), filters=[_upper],
        validators=[DataRequired(), Regexp(registration.LICENCE.pattern,
                                           message=_l("A unified social credit code is 18 digits and capital "
                                                      "letters."))],
        description=_l("As the business licence gives it: 18 digits and capital letters."))
    legal_representative = StringField(_l("Legal representative"), filters=[_stripped],
                                       validators=[DataRequired(), Length(max=60)])
    contact1_name = StringField(_l("First contact"), filters=[_stripped], validators=[DataRequired(), Length(max=60)])
    contact1_mobile = StringField(_l("First contact's mobile"), filters=[_stripped], validators=[DataRequired(), MOBILE])
    contact2_name = StringField(_l("Second contact"), filters=[_stripped], validators=[Length(max=60)])
    contact2_mobile = StringField(_l("Second contact's mobile"), filters=[_stripped], validators=[Optional(), MOBILE])
    other_contacts = StringField(_l("Other contacts"), validators=[Length(max=200)])
    invoice_type = choice(_l("Invoice type"), choices=INVOICE_TYPES)
    monthly_demand_tons = DecimalField(_l("Monthly demand (tons)"), places=2,
                                       validators=[InputRequired(), NumberRange(min=0)])
    equipment = StringField(_l("Equipment"), validators=[DataRequired(), Length(max=200)])
    transport = StringField(_l("Transport"), validators=[DataRequired(), Length(max=200)])
    business_scope = TextAreaField(_l("Business scope"), validators=[DataRequired(), Length(max=2000)])
    visit_notes = TextAreaField(_l("Visit record"), validators=[Length(max=4000)],
                                description=_l("What you learned on the visit; the customer specialist reads it."))
    licence_scan = MultipleFileField(_l("Business licence (scan)"),
                                     validators=[_Required(_l("Attach the business licence's scan."))],
                                     description=_l("PDF, JPEG, PNG or office documents, 10 MB each."))
    id_copy = MultipleFileField(_l("Legal representative's ID (copy)"),
                                validators=[_Required(_l("Attach the copy of the legal representative's ID."))],
                                description=_l("PDF, JPEG, PNG or office documents, 10 MB each."))

    def fill_choices(self, user):
        self.territory.choices = [SelectChoice(t.code, t.name) for t in registration.territories_of(user)]
        if len(self.territory.choices) == 1 and not self.territory.data:
            self.territory.data = self.territory.choices[0].value


DECISIONS = [SelectChoice("approve", _l("Approve: archive it and give it its code")),
             SelectChoice("reject", _l("Refuse the registration"))]


class CustomerRegistrationReviewForm(DecisionForm):
    """The customer specialist checks the information (seed 003) and approves it, or refuses it with a
    reason; to have the rep correct or complete it, he sends the case back to the request."""

    approve_label = DECISIONS[0].label
    other, other_label = "reject", DECISIONS[1].label
    comment_needed = _l("Say why the registration is refused: the rep is told.")

    decision = RadioField(_l("Decision"), choices=DECISIONS, validators=[InputRequired()])

    def validate_decision(self, field):
        """Approving archives the customer with its code: not with a duplicate, not without the files."""
        if field.data != "approve" or getattr(self, "task", None) is None:
            return
        problems = registration.check_before_approval(self.task.instance_id)
        if problems:
            raise ValidationError(" ".join(str(message) for messages in problems.values() for message in messages))


FORMS = {
    "customer_registration_request": CustomerRegistrationRequestForm,
    "customer_registration_review": CustomerRegistrationReviewForm,
}
