"""The forms of `return_visit_report`: the rep's report (《客户回访报告表》), the sales manager's reading
with its follow-up actions (person, what, due date), the person's report of an action done, and HQ
marketing's reading of the market demand."""
import operator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, FieldList, Form, FormField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation

from app import db
from app.domain import org
from app.domain import return_visits as rv
from app.domain.customers import Customer
from forms.common import WITHIN_A_YEAR, ChoiceSelect, Dated, choice, customer_field

TEXT = [Optional(), Length(max=rv.TEXT_MAX)]
EVALUATIONS = [
    SelectChoice("very_satisfied", _l("Very satisfied")),
    SelectChoice("satisfied", _l("Satisfied")),
    SelectChoice("fair", _l("Fair")),
    SelectChoice("dissatisfied", _l("Dissatisfied")),
]
NOT_AHEAD = Dated(operator.le, _l("A visit cannot be reported before it happens."))


class ReturnVisitReportForm(FlaskForm):
    """Start form: the rep's report of a return visit to one of his customers (seed 001 §10.2)."""

    customer_id = customer_field()
    visited_on = DateField(_l("Visited on"), validators=[InputRequired(), NOT_AHEAD])
    evaluation = choice(_l("Customer's evaluation"), choices=EVALUATIONS)
    evaluation_notes = TextAreaField(_l("What the customer said of our products and service"), validators=TEXT)
    market_demand = TextAreaField(_l("Market demand"), validators=TEXT, description=_l(
        "What the customer and its market will need (products, volumes, timing). It goes to HQ marketing."))
    suggestions = TextAreaField(_l("Suggestions for our service"), validators=TEXT)
    result = TextAreaField(_l("Result of the visit"), validators=[DataRequired(), Length(max=rv.TEXT_MAX)])

    def fill_choices(self, user):
        territories = [m.org_unit_id for m in user.memberships if m.role.code == org.SALES_REP]
        self.customer_id.choices = [SelectChoice(c.id, f"{c.code} {c.name}") for c in db.session.scalars(
            select(Customer).where(Customer.territory_id.in_(territories)).order_by(Customer.code))]


def _person_id(value) -> int | None:
    return None if value in (None, "") else int(value)


class ActionRow(Form):
    """One follow-up action; a row left wholly empty is no action."""

    person_id = SelectField(_l("Person"), widget=ChoiceSelect(), coerce=_person_id,
                            validate_choice=False, validators=[Optional()])
    what = TextAreaField(_l("What is to be done"), validators=[Optional(), Length(max=2000)])
    due_on = DateField(_l("Due on"), validators=[
        Optional(), Dated(operator.ge, _l("An action cannot be due in the past: today at the earliest.")),
        WITHIN_A_YEAR])


class ReturnVisitReviewForm(FlaskForm):
    """The sales manager has read the report; he makes suggestions and problems into actions, each for a
    person of the branch, due on a day."""

    template = "forms/return_visit_review.html"
    task = None  # set by forms.task_form: whom an action may name depends on the customer's branch
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    actions = FieldList(FormField(ActionRow), _l("Follow-up actions"), min_entries=3, max_entries=rv.ACTIONS_MAX)

    def candidates(self) -> list[org.User]:
        return rv.action_candidates(self.task.instance.start_data["branch_id"])

    def fill_choices(self, user):
        people = [SelectChoice(u.id, f"{u.display_name} · {u.org_unit.name}") for u in self.candidates()]
        for entry in self.actions:
            entry.person_id.choices = people

    def row_name(self, entry) -> str:
        return str(_l("Action %(number)s", number=self.actions.entries.index(entry) + 1))

    def validate_actions(self, field):
        allowed = {person.id for person in self.candidates()}
        problems = False
        for entry in field.entries:
            row = entry.form
            what = (row.what.data or "").strip()
            if row.person_id.data is None and not what and row.due_on.data is None and not row.due_on.errors:
                continue  # an empty row: no action
            if row.person_id.data is None:
                row.person_id.errors.append(_l("Choose the person who does it."))
                problems = True
            elif row.person_id.data not in allowed:
                row.person_id.errors.append(_l("Choose an active person of the customer's branch."))
                problems = True
            if not what:
                row.what.errors.append(_l("Say what is to be done."))
                problems = True
            if row.due_on.data is None and not row.due_on.errors:
                row.due_on.errors.append(_l("Give the day it is due."))
                problems = True
        if problems:  # the list's errors were taken from its rows before this check: take them again
            field.errors = [entry.errors for entry in field.entries]
            raise StopValidation()


class ReturnVisitActionDoneForm(FlaskForm):
    """The person of an action reports what was done: an action is never closed without it."""

    template = "forms/return_visit_action_done.html"

    def for_task(self, task):
        self.action = rv.action_of_task(task)
        return self

    def context(self) -> dict:
        action = self.action
        return {"action": None if action is None else {
            "what": action.what, "due_on": action.due_on.isoformat(), "person": action.person.username}}

    done_report = TextAreaField(_l("What was done"), validators=[
        DataRequired(message=_l("Say what was done: an action is not closed without it.")), Length(max=rv.TEXT_MAX)])


class ReturnVisitDemandReadForm(FlaskForm):
    """HQ marketing has the customer's market demand; a comment is optional."""

    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)],
                            description=_l("Optional: what marketing will do with it."))

FORMS = {
    "return_visit_report": ReturnVisitReportForm,
    "return_visit_review": ReturnVisitReviewForm,
    "return_visit_action_done": ReturnVisitActionDoneForm,
    "return_visit_demand_read": ReturnVisitDemandReadForm,
}
