"""What the process modeler offers in our terms, in the reader's language: the assignment rules and form
keys the flows plug in (by name, with the code the BPMN holds), and what a due date may say.
Process administrators only, like the modeler."""
from flask import Blueprint, jsonify
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import labels
from app.engine.plugins import ADMINISTER
from app.web import engine, policy

bp = Blueprint("modeler", __name__, url_prefix="/admin")

# A due date's forms, each by an example (README: "How a BPMN user task says who and when").
DUE_DATE_EXAMPLES = (
    ("P3D", _l("3 days after the task is created (ISO 8601 duration; PT4H: 4 hours)")),
    ("working_days(2)", _l("2 working days later, on China's official calendar")),
    ("working_hours(4)", _l("4 working hours later (09:00–12:00, 13:00–18:00)")),
    ("day_after_month(month, 2)", _l("00:00 on the 2nd of the month after the case's month (YYYY-MM)")),
    ("day_of_month(5, 1)", _l("00:00 on the 5th of next month (0: this month)")),
    ("days_after(received_at, 7)", _l("7 days after a moment in the case data")),
    ("end_of_day(due_on)", _l("The end of a day in the case data (00:00 the day after)")),
    ("2026-12-02T00:00:00+08:00", _l("A fixed date and time, with its offset")),
)

TEXTS = {
    "assignee": _l("Assignee"),
    "assignee_help": _l("The rule that finds the one person who does this step. Leave it empty when a group "
                        "claims the task."),
    "candidate_groups": _l("Candidate groups"),
    "candidate_groups_help": _l("Rules each finding a role in an org unit, whose members may claim the task: "
                                "one or more, or an assignee instead."),
    "due_date": _l("Due date"),
    "due_date_help": _l("When the task is due. Empty: no due date. For example:"),
    "form_key": _l("Form"),
    "form_key_help": _l("The form the person fills in at this step; on a start event, the request form. The "
                        "process's drawn forms are below the diagram."),
    "drawn_form": _l("Form: {title}"),
    "none": _l("(none)"),
    "unknown": _l("not known here"),
}


@bp.before_request
@login_required
def only_administrators():
    policy().require(current_user, ADMINISTER)


def _named(codes, names: dict) -> list[dict]:
    """Each code with its name (the code itself where it has none), and the two as one option's text."""
    return [{"code": code, "label": str(names.get(code, code)),
             "option": str(_l("%(name)s (%(code)s)", name=names[code], code=code)) if code in names else code}
            for code in codes]


@bp.route("/modeler/terms")
def terms():
    extensions = engine().extensions
    return jsonify(
        person_rules=_named(extensions.person_rules, labels.ASSIGNMENT_RULES),
        group_rules=_named(extensions.group_rules, labels.ASSIGNMENT_RULES),
        form_keys=_named(sorted(extensions.forms), labels.FORM_KEYS),
        due_date_examples=[{"text": text, "meaning": str(meaning)} for text, meaning in DUE_DATE_EXAMPLES],
        texts={key: str(text) for key, text in TEXTS.items()},
    )
