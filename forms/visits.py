"""The forms of visits: recording a visit (a page of the dossier), and the steps of the monthly plan and
the weekly summary, which show the rows their services recorded in the case."""
import operator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    DateField,
    DecimalField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app import db
from app.domain import org, visits
from forms.common import MONTH_FIELD, ApproveOrReturnForm, BranchForm, Dated, choice

VIEW = [Length(max=2000)]


class VisitRecordForm(FlaskForm):
    """A visit as seed 000 records it: products, delivery, business process, service, other views."""

    visited_on = DateField(_l("Visited on"), validators=[InputRequired()])
    products = TextAreaField(_l("Products"), validators=VIEW)
    delivery = TextAreaField(_l("Delivery"), validators=VIEW)
    business_process = TextAreaField(_l("Business process"), validators=VIEW)
    service = TextAreaField(_l("Service"), validators=VIEW)
    other_views = TextAreaField(_l("Other views"), validators=VIEW)

    def validate_other_views(self, field):
        if not any((self[name].data or "").strip() for name in visits.VIEW_FIELDS):
            raise ValidationError(_l("Write down what the customer said about at least one topic."))

    def values(self) -> dict:
        return {"visited_on": self.visited_on.data, **{name: (self[name].data or "").strip()
                                                        for name in visits.VIEW_FIELDS}}


class VisitPlanStartForm(FlaskForm):
    """Start form: a process administrator opens a rep's plan of a month by hand."""

    rep = choice(_l("Sales rep"), validate_choice=False)
    month = StringField(_l("Month"), **MONTH_FIELD)

    def fill_choices(self, user):
        self.rep.choices = [SelectChoice(username, name) for username, name in db.session.execute(
            select(org.User.username, org.User.display_name).join(org.Membership).join(org.Role)
            .where(org.Role.code == org.SALES_REP).order_by(org.User.username))]


class _ShowsRows(FlaskForm):
    """A step showing the rows its case's service recorded (`event_type`)."""

    event_type = ""

    def for_task(self, task):
        self.rows = visits.recorded_rows(task.instance_id, self.event_type)
        return self

    def context(self) -> dict:
        return {"rows": self.rows}


class VisitPlanForm(_ShowsRows):
    template = "forms/visit_plan.html"
    event_type = visits.PLAN_SHEET
    target_tons = DecimalField(_l("This month's target (tons)"), places=2,
                               validators=[InputRequired(), NumberRange(min=0)])
    plan = TextAreaField(_l("Visit plan"), validators=[DataRequired(), Length(max=4000)],
                         description=_l("Whom you visit when, and what for; at least the visits the table asks."))


class VisitPlanApprovalForm(_ShowsRows, ApproveOrReturnForm):
    template = "forms/visit_plan.html"
    event_type = visits.PLAN_SHEET
    return_label = _l("Return to the rep")
    comment_needed = _l("Say what the plan lacks.")


class VisitSummaryStartForm(BranchForm):
    """Start form: a process administrator opens a branch's weekly summary by hand."""

    monday = DateField(_l("Monday it is due (YYYY-MM-DD)"), validators=[InputRequired(), Dated(
        operator.le, _l("The week before that Monday has not ended yet: a Monday up to today."))])


class VisitSummaryReportForm(_ShowsRows):
    template = "forms/visit_summary.html"
    event_type = visits.WEEK_LISTED
    summary = TextAreaField(_l("Summary of the week"), validators=[DataRequired(), Length(max=4000)])


class VisitSummaryReadForm(_ShowsRows):
    template = "forms/visit_summary.html"
    event_type = visits.WEEK_LISTED
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])


FORMS = {
    "visit_plan_start": VisitPlanStartForm,
    "visit_plan_sheet": VisitPlanForm,
    "visit_plan_approval": VisitPlanApprovalForm,
    "visit_summary_start": VisitSummaryStartForm,
    "visit_summary_report": VisitSummaryReportForm,
    "visit_summary_read": VisitSummaryReadForm,
}
