"""The forms of `patrol_plan` (opening a branch's month by hand, the patroller's report with a problem
found and who solves it by when, the solver's solution) and the relationship manager's form."""
import operator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app import db
from app.domain import org
from app.domain import patrols as patrol_rules
from forms.common import WITHIN_A_YEAR, BranchMonthForm, Dated, choice

TEXT = [Optional(), Length(max=patrol_rules.TEXT_MAX)]
NOT_AHEAD = Dated(operator.le, _l("A patrol cannot be recorded before it happens."))
NOT_PAST = Dated(operator.ge, _l("It cannot be due in the past: today at the earliest."))


def _person_choices(people: list[org.User]) -> list[SelectChoice]:
    headquarters = org.headquarters()
    return [SelectChoice(u.id, f"{u.display_name} · {u.org_unit.name}",
                         optgroup=(org.branch_of(u.org_unit) or headquarters).name) for u in people]


def _patrol_json(patrol) -> dict | None:
    """What a patrol's steps show of it: the customer, its tier, the due day, and a problem found."""
    if patrol is None:
        return None
    return {"customer_id": patrol.customer_id, "customer_code": patrol.customer.code,
            "customer_name": patrol.customer.name, "tier": patrol.tier, "due_on": patrol.due_on.isoformat(),
            "regular": patrol.regular, "findings": patrol.findings, "problem": patrol.problem,
            "solve_by": patrol.solve_by.isoformat() if patrol.solve_by else None}


def _person_id(value) -> int | None:
    """A chosen person's id; nobody chosen is None (the form says whether that will do)."""
    return None if value in (None, "") else int(value)


class PatrolPlanStartForm(BranchMonthForm):
    """Start form: a process administrator opens a branch's patrol plan of a month by hand (the schedule
    opens this month's of every branch on the 1st)."""


class PatrolReportForm(FlaskForm):
    """The patroller records what he found; a problem found needs who solves it and by when."""

    task = None  # set by forms.task_form: whom a problem may go to depends on the branch
    patrolled_on = DateField(_l("Patrolled on"), validators=[InputRequired(), NOT_AHEAD])
    findings = TextAreaField(_l("What was found"), validators=[DataRequired(), Length(max=patrol_rules.TEXT_MAX)])
    problem_found = BooleanField(_l("A problem was found that must be solved"))
    problem = TextAreaField(_l("The problem"), validators=TEXT)
    solver_id = choice(_l("Who solves it"), searchable=True, coerce=_person_id, validate_choice=False)
    solve_by = DateField(_l("To be solved by"), validators=[Optional(), NOT_PAST, WITHIN_A_YEAR])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Who solves it is asked only when a problem was found.
        self.solver_id.validators = [Optional()]
        self.solver_id.flags.required = False

    template = "forms/patrol_report.html"

    def for_task(self, task):
        self.patrol = patrol_rules.patrol_of_task(task)
        return self

    def context(self) -> dict:
        return {"patrol": _patrol_json(self.patrol)}

    def candidates(self) -> list[org.User]:
        return patrol_rules.solver_candidates(self.task.instance.start_data["branch_id"])

    def fill_choices(self, user):
        self.solver_id.choices = _person_choices(self.candidates())

    def validate(self, extra_validators=None) -> bool:
        """A problem found needs its words, who solves it and by when; no problem, none of them."""
        valid = super().validate(extra_validators)
        if not self.problem_found.data:
            self.problem.data, self.solver_id.data, self.solve_by.data = "", None, None
            return valid
        if not (self.problem.data or "").strip():
            self.problem.errors.append(_l("Describe the problem."))
        person = db.session.get(org.User, self.solver_id.data) if self.solver_id.data else None
        if person is None:
            self.solver_id.errors.append(_l("Choose who solves it."))
        elif not person.active or person not in self.candidates():
            self.solver_id.errors.append(_l("Choose an active person of the branch or of headquarters."))
        if self.solve_by.data is None and not self.solve_by.errors:
            self.solve_by.errors.append(_l("Give the day it must be solved by."))
        return valid and not (self.problem.errors or self.solver_id.errors or self.solve_by.errors)


class PatrolProblemSolutionForm(FlaskForm):
    """The person named solves the problem: it is never closed without the solution written."""

    template = "forms/patrol_problem_solution.html"

    def for_task(self, task):
        self.patrol = patrol_rules.patrol_of_task(task)
        return self

    def context(self) -> dict:
        return {"patrol": _patrol_json(self.patrol)}

    solution = TextAreaField(_l("Solution"), validators=[
        DataRequired(message=_l("Write the solution: a problem is not closed without it.")),
        Length(max=patrol_rules.TEXT_MAX)])


class RelationshipManagerForm(FlaskForm):
    """The branch manager names a core or important customer's relationship manager (empty: none)."""

    person_id = choice(_l("Relationship manager"), searchable=True, coerce=_person_id, validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.person_id.validators = [Optional()]
        self.person_id.flags.required = False

    def fill_choices(self, customer):
        self.person_id.choices = _person_choices(patrol_rules.solver_candidates(customer.branch.id))


FORMS = {
    "patrol_plan_start": PatrolPlanStartForm,
    "patrol_report": PatrolReportForm,
    "patrol_problem_solution": PatrolProblemSolutionForm,
}
