"""Display names for stable codes (roles, statuses, events, decisions), in the user's language."""
from flask_babel import lazy_gettext as _l

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

STATUSES = {
    "running": _l("In progress"),
    "completed": _l("Completed"),
    "terminated": _l("Terminated"),
    "error": _l("Error"),
}

OUTCOMES = {
    "approved": _l("Approved"),
    "rejected": _l("Refused"),
    "no_customers": _l("Nothing to rate"),
}

TASK_STATES = {
    "open": _l("Open"),
    "completed": _l("Done"),
    "cancelled": _l("Cancelled"),
}

EVENTS = {
    "instance_started": _l("Request filed"),
    "task_created": _l("Task created"),
    "task_claimed": _l("Task claimed"),
    "task_completed": _l("Task completed"),
    "task_cancelled": _l("Task cancelled"),
    "loan_granted": _l("Read access granted"),
    "timer_fired": _l("Deadline passed"),
    "reminder_sent": _l("Reminder sent"),
    "star_rating_final": _l("Final stars recorded"),
    "instance_completed": _l("Case closed"),
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


def label(table: dict, code):
    return table.get(code, code) if code is not None else ""
