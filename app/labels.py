"""Display names for stable codes (roles, statuses, events, decisions), in the user's language."""
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from app.domain.notifications import TEXTS as NOTIFICATION_TEXTS
from app.domain.segregation import RULE_WORDS
from app.engine import schedules
from app.engine.models import STATUS_WORDS

ROLES = {
    "sales_rep": _l("Sales representative"),
    "customer_specialist": _l("Customer specialist"),
    "business_supervisor": _l("Business department supervisor"),
    "branch_manager": _l("Branch manager"),
    "sales_manager": _l("Sales manager"),
    "deputy_gm": _l("Deputy general manager in charge"),
    "hq_marketing": _l("Marketing officer"),
    "leadership": _l("Company leader"),
    "sales_department": _l("Sales department"),
    "finance": _l("Finance department"),
    "auditor": _l("Compliance reviewer"),
    "admin": _l("Process administrator"),
    "legal": _l("Legal department"),
    "contract_admin": _l("Contract administrator"),
}

STATUSES = STATUS_WORDS

# A case's outcome (an end event's `outcome`); each flow adds the words of its own (Flow.outcome_words).
OUTCOMES = {
    "approved": _l("Approved"),
    "rejected": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
}

# Bootstrap colour of each outcome's badge
OUTCOME_TONES = {"approved": "success", "resolved": "success", "rejected": "danger", "closed_unsatisfied": "warning"}

TASK_STATES = {
    "open": _l("Open"),
    "completed": _l("Done"),
    "cancelled": _l("Cancelled"),
    "held": _l("Waiting for a signer or the initiator"),
}

# What happened in a case; each flow adds the words of the events its services record (Flow.event_words).
EVENTS = {
    "instance_started": _l("Request filed"),
    "task_created": _l("Task created"),
    "task_claimed": _l("Task claimed"),
    "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task cancelled"),
    "timer_fired": _l("Time reached"),  # a timer not on a step: a wait, a schedule's own (see event_words)
    "reminder_sent": _l("Reminder sent"),
    "attachment_added": _l("File attached"),
    "instance_suspended": _l("Case suspended"),
    "instance_resumed": _l("Case resumed"),
    "instance_terminated": _l("Case terminated"),
    "task_reassigned": _l("Task reassigned"),
    "task_transferred": _l("Task handed on"),
    "signer_added": _l("Signer added"),
    "signer_decided": _l("Signer's opinion"),
    "sent_back": _l("Sent back"),
    "request_resubmitted": _l("Request revised"),
    "instance_withdrawn": _l("Request withdrawn"),
    "task_urged": _l("Urged"),
    "case_copied": _l("Copied to readers"),
    "task_delegated": _l("Given to a deputy"),
    "duty_rerouted": _l("Sent to a superior (segregation of duties)"),
    "duty_overridden": _l("Segregation of duties overridden by an administrator"),
    "incident": _l("Incident: the definition failed"),
    "incident_resolved": _l("Incident resolved"),
    "instance_completed": _l("Case closed"),
    # About no case: a process version (maker–checker).
    "version_deployed": _l("Process version deployed"),
    "version_approved": _l("Process version approved"),
    "version_rejected": _l("Process version rejected"),
}

# Seed 004's customer tiers for early warning (app.domain.early_warning.tier_of).
CUSTOMER_TIERS = {
    "core": _l("Core customer"),
    "important": _l("Important customer"),
    "big": _l("Big customer (volume)"),
    "general": _l("General customer"),
}

# Early warning's indicators (app.domain.early_warning.INDICATORS).
WARNING_INDICATORS = {
    "overdue_receivables": _l("Overdue receivables"),
    "purchase_drop": _l("Purchases dropping against its own average"),
    "credit_downgrade": _l("Credit downgrade"),
    "major_complaint": _l("Major complaint unresolved"),
}

# Why a person may not decide a consent or approval step.
SEGREGATION_RULES = RULE_WORDS

CHANNELS = {
    "in_person": _l("In person"),
    "phone": _l("Phone"),
    "letter": _l("Letter"),
    "email": _l("E-mail"),
    "meeting": _l("Meeting"),
    "visit": _l("Visit"),
}

COMPLAINT_CATEGORIES = {
    "product_quality": _l("Product quality"),
    "delivery": _l("Delivery"),
    "price_billing": _l("Price and billing"),
    "service_attitude": _l("Service attitude"),
    "other": _l("Other"),
}

CUSTOMER_RESPONSES = {
    "satisfied": _l("Satisfied"),
    "not_satisfied": _l("Not satisfied"),
}

SEVERITIES = {
    "general": _l("General"),
    "major": _l("Major"),
}

DECISIONS = {
    "approve": _l("Consented"),
    "reject": _l("Refused"),
    "return": _l("Returned"),
}

CUSTOMER_KINDS = {
    "distributor": _l("Distributor"),
    "direct": _l("Direct customer"),
}

READ_GROUNDS = {
    "own_territory": _l("Own territory"),
    "loan": _l("Loan"),
}

# How the modeler names the assignment rules (camunda:assignee, camunda:candidateGroups) and the form keys
# (camunda:formKey) a BPMN may name: the engine's and the shared forms' here, each flow's from its Flow
# declaration (rule_words, form_words; see add_words).
ASSIGNMENT_RULES = {
    "countersigner": _l("Each signer of a countersign (multi-instance)"),
}
FORM_KEYS = {
    "signer_opinion": _l("An added signer's opinion"),
    "notice_acknowledge": _l("Acknowledging a notice"),
}


def choices(table: dict) -> list[SelectChoice]:
    """A form field's choices from one of these tables."""
    return [SelectChoice(code, text) for code, text in table.items()]


def label(table: dict, code):
    return table.get(code, code) if code is not None else ""


def made_overdue(event) -> bool:
    """A deadline on a step passed: the step became overdue (the history shows it as its badge does)."""
    return event.type == "timer_fired" and bool((event.data or {}).get("steps"))


def event_words(event) -> str:
    """What an event of a case's history is called; a step's passed deadline by the word its badge uses,
    one state one word."""
    return str(_l("Overdue")) if made_overdue(event) else str(label(EVENTS, event.type))


def add_words(flow) -> None:
    """A flow's words for the events its services record, its outcomes, and the rules and form keys it
    plugs in."""
    EVENTS.update(flow.event_words)
    OUTCOMES.update(flow.outcome_words)
    ASSIGNMENT_RULES.update(flow.rule_words)
    FORM_KEYS.update(flow.form_words)


def notification_text(notification) -> str:
    """What a notification says, in the reader's language."""
    data = notification.data
    kind = "case_ended_by" if notification.kind == "case_ended" and data.get("by") else notification.kind
    outcome = data.get("outcome")
    return str(NOTIFICATION_TEXTS[kind] % {
        "task": data.get("task", ""), "case": notification.instance_id or "", "by": data.get("by", ""),
        "outcome": label(OUTCOMES if outcome in OUTCOMES else STATUSES, outcome)})


def opened_by_schedule(definition) -> str:
    """Who opened a case that no person opened: its process's schedule, in words where its rule is a
    plain one (按计划开启（每月1日）)."""
    when = schedule_words(definition.schedule)
    return str(_l("Opened by schedule (%(when)s)", when=when) if when else _l("Opened by schedule"))


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
A_MONDAY = date(2024, 1, 1)


def schedule_words(rule: str | None) -> str | None:
    """A schedule's rule in words (every day, one weekday, one day of the month, the first day of each
    quarter; at a time of day unless midnight), or None for a rule that says more."""
    parts = schedules.rule_parts(rule or "")
    frequency, day = parts.pop("FREQ", None), parts.pop("BYMONTHDAY", None)
    weekday, months = parts.pop("BYDAY", None), parts.pop("BYMONTH", None)
    parts.pop("UNTIL", None)  # when it stops is not how often it fires
    try:
        hour, minute = int(parts.pop("BYHOUR", 0)), int(parts.pop("BYMINUTE", 0))
    except ValueError:
        return None
    if parts.pop("INTERVAL", "1") != "1" or parts:
        return None
    if frequency == "DAILY" and not (day or weekday or months):
        words = _l("every day")
    elif frequency == "WEEKLY" and weekday in WEEKDAYS and not (day or months):
        words = _l("every %(weekday)s", weekday=format_date(A_MONDAY + timedelta(days=WEEKDAYS.index(weekday)),
                                                            "EEEE"))
    elif frequency == "MONTHLY" and day == "-1" and not (weekday or months):
        words = _l("the last day of every month")
    elif frequency == "MONTHLY" and (day or "1").isdigit() and not (weekday or months):
        words = _l("day %(day)s of every month", day=int(day or 1))
    elif frequency == "YEARLY" and months == "1,4,7,10" and day == "1" and not weekday:
        words = _l("the first day of every quarter")
    else:
        return None
    return str(words) if (hour, minute) == (0, 0) else f"{words} {hour:02d}:{minute:02d}"


def deadline_words(data: dict) -> str:
    """What a `timer_fired` event is about: the timer by its name, and the step it watches."""
    return " · ".join(filter(None, [data.get("name") or data.get("spec"), "、".join(data.get("steps") or [])]))
