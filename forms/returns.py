"""The forms of `return_exchange`: the request (which customer, which of its orders, return or exchange, how
many tons, why, photos), the sales manager's decision on one outside its period, and the warehouse's
confirmation of what came back."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DecimalField, RadioField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from app import labels
from app.domain import returns
from forms.common import DecisionForm, choice, customer_field

TONS = dict(places=2, validators=[InputRequired(), NumberRange(min=0.01, max=float(returns.MAX_TONS))])


class ReturnRequestForm(FlaskForm):
    """Start form: what a customer of the filer's territory (or branch) asks back, from which order."""

    customer_id = customer_field()
    purchase_id = choice(_l("Order"), coerce=int, validate_choice=False, searchable=True,
                         description=_l("The purchase record the goods came with: its date and tons."))
    kind = RadioField(_l("Return or exchange"), choices=labels.choices(returns.KINDS), validators=[InputRequired()])
    tons = DecimalField(_l("Tons asked back"), **TONS)
    return_reason = RadioField(_l("Reason"), choices=labels.choices(returns.REASONS), validators=[InputRequired()],
                        description=_l("Damaged packaging is exchanged, not refunded."))
    reason_text = TextAreaField(_l("The reason in words"), validators=[Length(max=returns.TEXT_MAX)],
                                description=_l("Needed for another reason; the sales manager reads it."))
    note = TextAreaField(_l("Note"), validators=[Length(max=returns.TEXT_MAX)])
    photos = MultipleFileField(_l("Photos or documents"),
                               description=_l("Optional: PDF, JPEG, PNG or office documents, 10 MB each."))

    def validate_reason_text(self, field):
        if self.return_reason.data == returns.OTHER and not (field.data or "").strip():
            raise ValidationError(_l("Say what the other reason is."))

    def validate_kind(self, field):
        if field.data == returns.RETURN and self.return_reason.data == returns.PACKAGING:
            raise ValidationError(_l("Goods with damaged packaging are exchanged, not refunded: ask for an exchange."))

    def fill_choices(self, user):
        customers = returns.customers_for(user)
        self.customer_id.choices = [SelectChoice(c.id, f"{c.code} {c.name}") for c in customers]
        chosen = [c for c in customers if c.id == self.customer_id.data] or customers
        names = {c.id: f"{c.code} {c.name}" for c in customers}
        orders = returns.orders_of([c.id for c in chosen])
        taken = returns.taken_back([p.id for p in orders])
        self.purchase_id.choices = [
            SelectChoice(p.id, _l("%(day)s · %(product)s · %(tons)s t (can be taken back: %(left)s t)",
                                  day=p.ordered_on.isoformat(), product=p.product, tons=str(returns.order_tons(p)),
                                  left=str(returns.returnable(p, taken=taken[p.id]))), optgroup=names[p.customer_id])
            for p in orders]


DECISIONS = [SelectChoice("approve", _l("Approve the return or exchange")),
             SelectChoice("reject", _l("Reject it"))]


class ReturnDecisionForm(DecisionForm):
    """The branch's sales manager decides a request outside its period: approve, or reject with a reason
    (the rep is told)."""

    approve_label = DECISIONS[0].label
    other, other_label = "reject", DECISIONS[1].label
    comment_needed = _l("Say why the return is rejected: the rep is told.")

    template = "forms/return_exchange_task.html"
    decision = RadioField(_l("Decision"), choices=DECISIONS, validators=[InputRequired()])

    def for_task(self, task):
        self.return_request = request = returns.request_of(task.instance_id)
        self.facts = {} if request is None else {
            "kind": request.kind, "reason": request.reason, "tons": str(request.tons),
            "product": request.product, "days_held": request.days_held, "period_days": request.period_days,
            "within_period": request.within_period}
        if request is not None:
            self.decision.description = _l(
                "Held %(days)s days since %(day)s: its period is %(period)s days.", days=request.days_held,
                day=request.held_from.isoformat(), period=request.period_days)
        return self

    def context(self) -> dict:
        return {"request": self.facts}


class ReturnReceiptForm(FlaskForm):
    """The branch's business department confirms what came back: the tons received (no more than asked
    back; less is a shortfall, with why) and their condition."""

    received_tons = DecimalField(_l("Tons received"), places=2,
                                 validators=[InputRequired(), NumberRange(min=0, max=float(returns.MAX_TONS))])
    condition = RadioField(_l("Condition"), choices=labels.choices(returns.CONDITIONS), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=returns.TEXT_MAX)],
                         description=_l("Needed when less came back than was asked: say why."))

    template = "forms/return_exchange_task.html"

    def for_task(self, task):
        self.request = self.return_request = returns.request_of(task.instance_id)
        if self.request is not None:
            self.received_tons.description = _l("Asked back: %(tons)s tons of %(product)s.",
                                                tons=str(self.request.tons), product=self.request.product)
        return self

    def validate_received_tons(self, field):
        request = getattr(self, "request", None)
        if request is None or field.data is None:
            return
        if field.data > request.tons:
            raise ValidationError(_l("More than the %(tons)s tons asked back.", tons=str(request.tons)))

    def validate_note(self, field):
        request = getattr(self, "request", None)
        received = self.received_tons.data
        if request is not None and received is not None and received < request.tons and not (field.data or "").strip():
            raise ValidationError(_l("Less came back than was asked: say why."))

    def context(self) -> dict:
        request = getattr(self, "request", None)
        return {} if request is None else {"tons": str(request.tons), "product": request.product,
                                           "kind": request.kind}


FORMS = {
    "return_request": ReturnRequestForm,
    "return_decision": ReturnDecisionForm,
    "return_receipt": ReturnReceiptForm,
}
