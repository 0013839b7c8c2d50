"""The forms of `contract_review`: the rep's request (the contract on the approved template, its instalments
and documents due, what he checked about the counterparty, the signer and his document), the legal
department's review, the department head's and the deputy general manager's approval, the signing, the
department head's overdue notice and the contract administrator's closing; and, outside the process, a
payment received and a document handed in."""
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import labels
from app.domain import contracts
from forms.common import (
    WITHIN_A_YEAR,
    Dated,
    DecisionForm,
    NoticeAcknowledgeForm,
    choice,
    customer_field,
    today,
)

NOT_AHEAD = Dated(lambda day, now: day <= now, _l("That day has not come yet."))
MAX_ROWS = 24


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class _FileRequired:
    """A file field a page must carry. Through the API the file is attached to the case after it is opened
    (POST /instances/<id>/attachments): the legal department cannot approve before it is there."""

    def __init__(self, message):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field):
        if getattr(form, "task", None) is not None or (has_request_context() and request.is_json):
            return
        if not any(getattr(storage, "filename", "") for storage in (field.data or [])):
            raise ValidationError(self.message)


class PaymentRow(Form):
    """An instalment of the price: due by a day (a row left empty is no instalment)."""

    due_on = DateField(_l("Due on"), validators=[Optional()])
    amount_yuan = DecimalField(_l("Amount (yuan)"), places=2, validators=[Optional(), NumberRange(min=0.01)])

    def validate_amount_yuan(self, field):
        if (self.due_on.data is None) != (field.data is None):
            raise ValidationError(_l("An instalment needs its due date and its amount."))


class DocumentRow(Form):
    """A document the contract wants handed in by a day (a row left empty is none)."""

    title = StringField(_l("Document"), filters=[_stripped], validators=[Length(max=200)])
    due_on = DateField(_l("Due on"), validators=[Optional()])

    def validate_due_on(self, field):
        if bool(self.title.data) != (field.data is not None):
            raise ValidationError(_l("A document needs its name and its due date."))


class ContractReviewRequestForm(FlaskForm):
    """Start form: the rep files a contract with a customer of his territory for review before signing
    (seed 001 §9), on the legal department's template, with every term, what he checked about the
    counterparty, and the signer's document attached."""

    customer_id = customer_field()
    contract_template = choice(_l("Contract template"), choices=[SelectChoice(code, words)
                                                       for code, words in contracts.TEMPLATES.items()],
                      description=_l("Only the company's template approved by the legal department is used."))
    # What he checked about the counterparty (9.1)
    legal_personality_checked = BooleanField(contracts.CHECKS["legal_personality"],
                                             validators=[DataRequired(message=_l("Check it before signing."))])
    legal_personality_note = TextAreaField(_l("What you saw of its legal personality"),
                                           validators=[DataRequired(), Length(max=1000)],
                                           description=_l("The business licence, its validity, the annual report."))
    business_rights_checked = BooleanField(contracts.CHECKS["business_rights"],
                                           validators=[DataRequired(message=_l("Check it before signing."))])
    business_rights_note = TextAreaField(_l("What you saw of its business rights"),
                                         validators=[DataRequired(), Length(max=1000)],
                                         description=_l("The business scope, the licence to trade oil products."))
    capacity_checked = BooleanField(contracts.CHECKS["capacity"],
                                    validators=[DataRequired(message=_l("Check it before signing."))])
    capacity_note = TextAreaField(_l("What you saw of its capacity to perform"),
                                  validators=[DataRequired(), Length(max=1000)],
                                  description=_l("Storage, transport, funds, its purchases so far."))
    credit_note = TextAreaField(_l("On its credit standing"), validators=[Length(max=1000)],
                                description=_l("The credit grade is the quarterly rating's, shown with the contract; "
                                               "add what else you know."))
    # The signer
    signer_name = StringField(_l("Signer"), filters=[_stripped], validators=[DataRequired(), Length(max=60)])
    signer_capacity = RadioField(_l("The signer is"), choices=labels.choices(contracts.SIGNER_CAPACITIES),
                                 validators=[InputRequired()])
    authorisation_valid_until = DateField(_l("Power of attorney valid until"), validators=[Optional()],
                                          description=_l("An agent's only."))
    signer_document = MultipleFileField(
        _l("Signer's document"), validators=[_FileRequired(_l("Attach the legal representative's certificate or the "
                                                              "power of attorney."))],
        description=_l("The legal representative's certificate or ID copy, or the power of attorney."))
    # The contract's terms (9.2)
    product = choice(_l("Product"), validate_choice=False)
    specification = StringField(_l("Specification"), filters=[_stripped], validators=[DataRequired(), Length(max=200)])
    quantity_tons = DecimalField(_l("Quantity (tons)"), places=2, validators=[InputRequired(), NumberRange(min=0.01)])
    quality = TextAreaField(_l("Quality"), validators=[DataRequired(), Length(max=2000)])
    unit_price_yuan = DecimalField(_l("Price (yuan per ton)"), places=2,
                                   validators=[InputRequired(), NumberRange(min=0.01)],
                                   description=_l("The amount is the quantity times the price."))
    settlement = TextAreaField(_l("Settlement"), validators=[DataRequired(), Length(max=2000)])
    rights_duties = TextAreaField(_l("Rights and duties of both sides"), validators=[DataRequired(), Length(max=4000)])
    dispute_resolution = TextAreaField(_l("Dispute resolution"), validators=[DataRequired(), Length(max=2000)])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired(message=_l("Give a date."))])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired(message=_l("Give a date."))])
    payments = FieldList(FormField(PaymentRow), _l("Instalments"), min_entries=1, max_entries=MAX_ROWS)
    documents = FieldList(FormField(DocumentRow), _l("Documents due"), min_entries=1, max_entries=MAX_ROWS)

    def fill_choices(self, user):
        self.customer_id.choices = [SelectChoice(c.id, f"{c.code} {c.name}") for c in contracts.customers_of(user)]
        self.product.choices = [SelectChoice(p, p) for p in contracts.products()]

    def validate_product(self, field):
        if field.data and field.data not in contracts.products():
            raise ValidationError(_l("Unknown product."))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The contract cannot end before it starts."))

    def validate_authorisation_valid_until(self, field):
        if self.signer_capacity.data == contracts.AUTHORISED_AGENT:
            if field.data is None:
                raise ValidationError(_l("Give the date the power of attorney is valid until."))
            if field.data < today():
                raise ValidationError(_l("The power of attorney has expired: the agent may not sign."))


class _ShowsContract:
    """A step showing the contract as filed, with the credit grade and the documents attached."""

    def for_task(self, task):
        self.filed = task.instance.start_data or {}
        self.documents = contracts.documents_of(task.instance_id)
        return self

    def context(self) -> dict:
        return {"amount_yuan": self.filed.get("amount_yuan"), "credit_grade": self.filed.get("credit_grade"),
                "documents": [document.filename for document in self.documents]}


class ContractLegalReviewForm(_ShowsContract, DecisionForm):
    """The legal department reviews the contract: its template and terms, the counterparty's checks and the
    signer's document; approves it, or refuses it with the reason (to have the rep correct it, it is sent
    back to the request)."""

    template = "contracts/_review_form.html"
    approve_label, other, other_label = _l("Approve the contract"), "reject", _l("Refuse the contract")
    comment_needed = _l("Say why the contract is refused: the rep is told.")

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve"), SelectChoice("reject")],
                          validators=[InputRequired()])
    template_followed = BooleanField(_l("The contract follows the approved template, and its terms are complete"))

    def validate_decision(self, field):
        if field.data != "approve":
            return
        if not self.template_followed.data:
            raise ValidationError(_l("Approve only a contract on the approved template with every term."))
        if getattr(self, "task", None) is not None:
            refusal = contracts.document_refusal(self.task.instance_id)
            if refusal:
                raise ValidationError(refusal)


class ContractApprovalForm(_ShowsContract, DecisionForm):
    """The department head's (and, above the process's amount, the deputy general manager's) approval."""

    template = "contracts/_review_form.html"
    approve_label, other, other_label = _l("Approve the contract"), "reject", _l("Refuse the contract")
    comment_needed = _l("Say why the contract is refused: the rep is told.")

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve"), SelectChoice("reject")],
                          validators=[InputRequired()])


class ContractSigningForm(_ShowsContract, FlaskForm):
    """The rep signs the approved contract with the customer: the day it was signed."""

    template = "contracts/_review_form.html"
    signed_on = DateField(_l("Signed on"), validators=[InputRequired(message=_l("Give a date.")), NOT_AHEAD])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def validate_signed_on(self, field):
        """Not without the legal review (whatever the definition says), nor an agent's expired authorisation."""
        task = getattr(self, "task", None)
        if task is None or field.data is None:
            return
        refusal = contracts.signing_refusal_of(task.instance_id, field.data)
        if refusal:
            raise ValidationError(refusal)


class _ShowsTracking:
    """A step of a signed contract, showing what is outstanding today."""

    template = "contracts/_tracking_form.html"

    def for_task(self, task):
        self.contract = contracts.of_case(task.instance_id)
        self.figures = contracts.outstanding(self.contract, today()) if self.contract else None
        return self

    def context(self) -> dict:
        if self.contract is None:
            return {}
        figures = self.figures
        return {"contract_id": self.contract.id, "number": self.contract.number,
                "delivered_tons": str(figures["delivered_tons"]), "contracted_tons": str(figures["contracted_tons"]),
                "paid_yuan": str(figures["paid_yuan"]), "due_yuan": str(figures["due_yuan"]),
                "overdue_yuan": str(figures["overdue_yuan"]), "unpaid_yuan": str(figures["unpaid_yuan"]),
                "documents_missing": [item.title for item in figures["documents_missing"]],
                "documents_overdue": [item.title for item in figures["documents_overdue"]]}


class ContractOverdueNoticeForm(_ShowsTracking, NoticeAcknowledgeForm):
    """The department head's notice: a payment or a document of a contract was not in on its due date."""


CLOSINGS = [SelectChoice("fulfilled", _l("Fulfilled: everything delivered, paid and handed in")),
            SelectChoice("terminated", _l("Terminated before it was fulfilled"))]


class ContractCloseForm(_ShowsTracking, FlaskForm):
    """The contract administrator tracks the contract (its page: payments, documents, deliveries) and closes
    it: fulfilled (only with nothing outstanding), or terminated with the reason."""

    decision = RadioField(_l("Closing"), choices=CLOSINGS, validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def validate_decision(self, field):
        if field.data == "fulfilled" and getattr(self, "figures", None) is not None:
            if contracts.is_outstanding(self.figures):
                raise ValidationError(_l("Something is still outstanding (tons, payments or documents): the "
                                         "contract is not fulfilled yet."))

    def validate_comment(self, field):
        if self.decision.data == "terminated" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the contract was terminated."))


class PaymentForm(FlaskForm):
    """A payment received against a contract (the contract administrator)."""

    paid_on = DateField(_l("Received on"), validators=[InputRequired(message=_l("Give a date.")), NOT_AHEAD])
    amount_yuan = DecimalField(_l("Amount (yuan)"), places=2, validators=[InputRequired(), NumberRange(min=0.01)])
    reference = StringField(_l("Reference"), filters=[_stripped], validators=[Length(max=120)],
                            description=_l("The bank slip or voucher number."))

    def values(self) -> dict:
        return {"paid_on": self.paid_on.data, "amount_yuan": self.amount_yuan.data, "reference": self.reference.data}


class DocumentReceivedForm(FlaskForm):
    """A document of the contract handed in (the contract administrator)."""

    item_id = IntegerField(_l("Document"), validators=[InputRequired()])
    received_on = DateField(_l("Received on"), validators=[InputRequired(message=_l("Give a date.")), NOT_AHEAD,
                                                           WITHIN_A_YEAR])

    def values(self) -> dict:
        return {"item_id": self.item_id.data, "received_on": self.received_on.data}


FORMS = {
    "contract_review_request": ContractReviewRequestForm,
    "contract_legal_review": ContractLegalReviewForm,
    "contract_approval": ContractApprovalForm,
    "contract_signing": ContractSigningForm,
    "contract_overdue_notice": ContractOverdueNoticeForm,
    "contract_close": ContractCloseForm,
}
