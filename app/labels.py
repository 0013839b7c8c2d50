"""Display names for stable codes (roles, statuses, events, decisions), in the user's language."""
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from app.domain.notifications import TEXTS as NOTIFICATION_TEXTS
from app.domain.segregation import RULE_WORDS
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
    "timer_fired": _l("Deadline passed"),
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


def choices(table: dict) -> list[SelectChoice]:
    """A form field's choices from one of these tables."""
    return [SelectChoice(code, text) for code, text in table.items()]


def label(table: dict, code):
    return table.get(code, code) if code is not None else ""


def add_words(event_words: dict, outcome_words: dict) -> None:
    """A flow's words for the events its services record and for its outcomes."""
    EVENTS.update(event_words)
    OUTCOMES.update(outcome_words)


def notification_text(notification) -> str:
    """What a notification says, in the reader's language."""
    data = notification.data
    kind = "case_ended_by" if notification.kind == "case_ended" and data.get("by") else notification.kind
    outcome = data.get("outcome")
    return str(NOTIFICATION_TEXTS[kind] % {
        "task": data.get("task", ""), "case": notification.instance_id or "", "by": data.get("by", ""),
        "outcome": label(OUTCOMES if outcome in OUTCOMES else STATUSES, outcome)})
