"""The forms of early warning: an urgent report, the receiver's measures and their follow-up, and the
branch's routine report with HQ's reading of it (its rows come from the case)."""
import operator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from app import labels
from app.domain import early_warning
from forms.common import WITHIN_A_YEAR, BranchMonthForm, Dated, choice, customer_choices, customer_field

INDICATOR_CHOICES = [SelectChoice(code, words) for code, words in labels.WARNING_INDICATORS.items()]


class EarlyWarningStartForm(FlaskForm):
    """An urgent report: which customer, which indicator, broken or about to be, what happened."""

    customer_id = customer_field()
    indicator = choice(_l("Warning indicator"), choices=INDICATOR_CHOICES)
    level = RadioField(_l("Level"), validators=[InputRequired()],
                       choices=[SelectChoice(early_warning.BREAKS, _l("Broken")),
                                SelectChoice(early_warning.NEARS, _l("About to be broken"))])
    detail = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=2000)])

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices(user)


class WarningMeasuresForm(FlaskForm):
    """The receiver sets out measures and names the day they are followed up."""

    measures = TextAreaField(_l("Measures"), validators=[DataRequired(), Length(max=2000)])
    follow_up_on = DateField(_l("Follow up on"), validators=[
        InputRequired(), Dated(operator.gt, _l("The follow-up day comes after today: the measures need time to work.")),
        WITHIN_A_YEAR], description=_l("The day you report whether the measures worked."))


class WarningFollowUpForm(FlaskForm):
    """On the follow-up day: did the measures work? If not, new measures follow."""

    resolved = BooleanField(_l("The risk is resolved"))
    result = TextAreaField(_l("What the measures achieved"), validators=[DataRequired(), Length(max=2000)])


class WarningReportStartForm(BranchMonthForm):
    """Start form: a process administrator opens a branch's routine report of a month by hand."""


class _ShowsWarnings(FlaskForm):
    template = "forms/warning_list.html"

    def for_task(self, task):
        self.warnings = early_warning.listed_warnings(task.instance_id)
        return self

    def context(self) -> dict:
        return {"warnings": self.warnings}


class WarningRoutineReportForm(_ShowsWarnings):
    report = TextAreaField(_l("Routine report"), validators=[DataRequired(), Length(max=4000)],
                           description=_l("How the customers stand, what is at risk, what the branch does."))


class WarningRoutineReviewForm(_ShowsWarnings):
    measures = TextAreaField(_l("Measures"), validators=[DataRequired(), Length(max=2000)])


FORMS = {
    "early_warning_start": EarlyWarningStartForm,
    "warning_measures": WarningMeasuresForm,
    "warning_follow_up": WarningFollowUpForm,
    "warning_report_start": WarningReportStartForm,
    "warning_routine_report": WarningRoutineReportForm,
    "warning_routine_review": WarningRoutineReviewForm,
}
