"""The forms of `credit_rating`: opening a case by hand, and the two departments' scores (the points of
each indicator come from app.domain.credit_rating.INDICATORS)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Regexp

from app.domain import credit_rating as credit
from forms.common import customer_choices, customer_field

_BY_NAME = {indicator.name: indicator for indicator in credit.INDICATORS}


def _score(name: str) -> DecimalField:
    """An indicator's points, 0 to its most, to the hundredth."""
    indicator = _BY_NAME[name]
    return DecimalField(indicator.label, places=2, validators=[
        InputRequired(), NumberRange(min=0, max=indicator.points,
                                     message=_l("From 0 to %(points)s points.", points=indicator.points))],
        description=_l("%(category)s · at most %(points)s points", category=credit.CATEGORIES[indicator.category],
                       points=indicator.points))


class CreditRatingStartForm(FlaskForm):
    """Start form: a process administrator rates one customer for one quarter that has ended."""

    customer_id = customer_field()
    quarter = StringField(_l("Quarter rated"), validators=[
        InputRequired(), Regexp(r"^\d{4}-[Qq][1-4]$", message=_l("Write the quarter as YYYY-Qn, e.g. 2026-Q3."))],
        description=_l("YYYY-Qn. The schedule opens last quarter's ratings of every customer by itself."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices(user)


class CreditNonFinancialForm(FlaskForm):
    """The sales department's scores: the six non-financial indicators (60 points)."""

    cooperation_years = _score("cooperation_years")
    loyalty = _score("loyalty")
    standing = _score("standing")
    monthly_volume = _score("monthly_volume")
    steadiness = _score("steadiness")
    timing = _score("timing")
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])


class CreditFinancialForm(FlaskForm):
    """The finance department's scores: the three financial indicators (40 points), and whether the
    customer has a bad-debt record (which forbids every grade)."""

    settlement = _score("settlement")
    leverage = _score("leverage")
    credit_performance = _score("credit_performance")
    bad_debt = BooleanField(_l("The customer has a bad-debt record (呆坏帐)"))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])


FORMS = {
    "credit_rating_start": CreditRatingStartForm,
    "credit_nonfinancial": CreditNonFinancialForm,
    "credit_financial": CreditFinancialForm,
}
