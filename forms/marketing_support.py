"""The forms of `marketing_support`: the rep's request for a first deal, and the two levels' decisions."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.domain import marketing_support
from forms.common import ConsentForm, choice


class MarketingSupportRequestForm(FlaskForm):
    """Start form: which potential customer, which policy, worth how much, why."""

    customer_id = choice(_l("Customer"), coerce=int, validate_choice=False,
                         description=_l("A potential customer of your territory, or one whose first order is in."))
    policy = choice(_l("Policy asked for"),
                    choices=[SelectChoice(key, words) for key, words in marketing_support.POLICY_WORDS.items()])
    amount_yuan = IntegerField(_l("Amount (yuan)"),
                               validators=[InputRequired(), NumberRange(min=1, max=marketing_support.AMOUNT_MAX)],
                               description=_l("What the policy is worth to the customer on this deal. Above 50,000 "
                                              "yuan HQ marketing decides too."))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)],
                           description=_l("Why the first deal needs it; the approvers read this."))

    def fill_choices(self, user):
        self.customer_id.choices = [SelectChoice(c.id, f"{c.code} {c.name}")
                                    for c in marketing_support.first_deal_customers(user)]


class MarketingSupportDecisionForm(ConsentForm):
    """Approve, or reject with a comment: the rep is told why."""

    approve_label, other, other_label = _l("Approve the support"), "reject", _l("Reject")
    comment_needed = _l("A rejection needs a comment: the rep is told why.")


class MarketingSupportHqForm(MarketingSupportDecisionForm):
    """HQ marketing's decision, above the amount the process states."""


FORMS = {
    "marketing_support_request": MarketingSupportRequestForm,
    "marketing_support_branch": MarketingSupportDecisionForm,
    "marketing_support_hq": MarketingSupportHqForm,
}
