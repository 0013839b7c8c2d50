"""The forms of `customer_registration`: the rep's basic-information form (with the licence's scan and the
legal representative's ID copy), and the customer specialist's check; and those of `customer_data_change`:
the change of registered data a customer asked for, and the same specialist's check of it."""
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from wtforms import DecimalField, RadioField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app import db, labels
from app.domain import dossier_upkeep, registration
from app.domain.customers import Customer
from forms.common import DecisionForm, choice, customer_field

REGISTERED = dossier_upkeep.REGISTERED_FIELDS
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


# What the specialist reads of a filed registration, in the order of the rep's form.
FILED = ("name", "kind", "territory_name", "address", "licence_number", "legal_representative", "business_scope",
         "contact1_name", "contact1_mobile", "contact2_name", "contact2_mobile", "other_contacts", "invoice_type",
         "monthly_demand_tons", "equipment", "transport", "visit_notes")


def _filed_label(name: str):
    return getattr(CustomerRegistrationRequestForm, name.removesuffix("_name") if name == "territory_name"
                   else name).args[0]


class CustomerRegistrationReviewForm(DecisionForm):
    """The customer specialist checks the information (seed 003) and approves it, or refuses it with a
    reason; to have the rep correct or complete it, he sends the case back to the request. The page shows
    what the rep filed and the documents attached (`for_task`: from the case)."""

    template = "forms/registration_check.html"
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

    def for_task(self, task):
        data = task.instance.start_data or {}
        self.filed = [(name, _filed_label(name),
                       labels.label(labels.CUSTOMER_KINDS, data[name]) if name == "kind" else data.get(name))
                      for name in FILED if data.get(name) not in (None, "")]
        self.documents = registration.documents(task.instance_id)
        return self

    def context(self) -> dict:
        return {"filed": {name: value for name, _label, value in self.filed},
                "documents": [document.filename for document in self.documents]}


class CustomerDataChangeRequestForm(FlaskForm):
    """Start form: the change of its registered data a customer of the rep's territory asked for. The page
    shows the dossier's values to change; a field left as it is, or empty, keeps its value (through the API,
    a field left out does). The proof (the new licence, the new legal representative's ID) goes with it."""

    customer_id = customer_field()
    name = StringField(REGISTERED["name"], filters=[_stripped], validators=[Length(max=120)])
    licence_number = StringField(
        REGISTERED["licence_number"], filters=[_upper],
        validators=[Optional(), Regexp(registration.LICENCE.pattern,
                                       message=_l("A unified social credit code is 18 digits and capital letters."))])
    legal_representative = StringField(REGISTERED["legal_representative"], filters=[_stripped],
                                       validators=[Length(max=60)])
    address = StringField(REGISTERED["address"], filters=[_stripped], validators=[Length(max=200)])
    business_scope = TextAreaField(REGISTERED["business_scope"], validators=[Length(max=2000)])
    bank_account = StringField(REGISTERED["bank_account"], filters=[_stripped], validators=[Length(max=80)])
    request_note = TextAreaField(_l("What the customer asked for"), validators=[DataRequired(), Length(max=2000)],
                                 description=_l("How and why the customer asked for the change (its letter, "
                                                "its call); the customer specialist reads it."))
    proof = MultipleFileField(_l("Proof"), description=_l(
        "The new business licence or the new legal representative's ID copy, when those change."))

    def fill_choices(self, user):
        territories = {t.id for t in registration.territories_of(user)}
        customers = db.session.scalars(select(Customer).where(Customer.territory_id.in_(territories))
                                       .order_by(Customer.code)).all()
        self.customer_id.choices = [SelectChoice(c.id, f"{c.code} {c.name}") for c in customers]
        chosen = next((c for c in customers if c.id == self.customer_id.data), None)
        if chosen is not None and not self.is_submitted():  # the page starts from the dossier's values
            for name in dossier_upkeep.REGISTERED_FIELDS:
                self[name].data = getattr(chosen, name) or ""


class CustomerDataChangeReviewForm(CustomerRegistrationReviewForm):
    """The same specialist's check (seed 003: 对申请信息变更的客户要认真审核): the change as a diff against the
    dossier, then approve it into the dossier, refuse it with a reason, or send it back to the rep."""

    template = "forms/registered_data_change.html"
    documents: list = []
    approve_label = _l("Approve: the dossier takes the new data")
    other_label = _l("Refuse the change")
    comment_needed = _l("Say why the change is refused: the rep is told.")

    def for_task(self, task):
        data = task.instance.start_data or {}
        self.request_note = data.get("request_note", "")
        self.changes = [{"field": name, "label": REGISTERED.get(name, name), **change}
                        for name, change in data.get("changes", {}).items()]
        return self

    def context(self) -> dict:
        return {"changes": [{key: change[key] for key in ("field", "old", "new")} for change in self.changes],
                "request_note": self.request_note}


FORMS = {
    "customer_registration_request": CustomerRegistrationRequestForm,
    "customer_registration_review": CustomerRegistrationReviewForm,
    "customer_data_change_request": CustomerDataChangeRequestForm,
    "customer_data_change_review": CustomerDataChangeReviewForm,
}
