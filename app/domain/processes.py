"""What the engine needs to know about each process that Python, not BPMN, decides.

- start hooks check a new case's data against the company's rules and add derived facts, called as
  hook(data, user, now, resubmitting=None), `resubmitting` naming the case whose initiator revises his
  request after a send-back;
- starters: who may open a case of a process by hand (anyone, unless listed here);
- scheduled starts: for a process whose BPMN declares a `schedule`, the cases one firing opens;
- services are the `camunda:topic` names a BPMN service task may call.
"""
from functools import partial

from app.domain import (
    borrowing,
    complaints,
    credit_rating,
    dossier_upkeep,
    early_warning,
    org,
    readers,
    reminders,
    star_rating,
    visits,
)

START_HOOKS = {
    borrowing.PROCESS_KEY: borrowing.prepare_request,
    star_rating.PROCESS_KEY: star_rating.prepare_start,
    complaints.PROCESS_KEY: complaints.prepare_intake,
    credit_rating.PROCESS_KEY: credit_rating.prepare_start,
    dossier_upkeep.PROCESS_KEY: dossier_upkeep.prepare_start,
    early_warning.PROCESS_KEY: early_warning.prepare_urgent,
    early_warning.ROUTINE_KEY: early_warning.prepare_routine,
    visits.PLAN_KEY: visits.prepare_plan,
    visits.SUMMARY_KEY: visits.prepare_summary,
}

STARTERS = {
    star_rating.PROCESS_KEY: {org.ADMIN},
    credit_rating.PROCESS_KEY: {org.ADMIN},
    dossier_upkeep.PROCESS_KEY: {org.ADMIN},
    early_warning.ROUTINE_KEY: {org.ADMIN},
    visits.PLAN_KEY: {org.ADMIN},
    visits.SUMMARY_KEY: {org.ADMIN},
}

SCHEDULED_STARTS = {
    star_rating.PROCESS_KEY: star_rating.scheduled_starts,
    credit_rating.PROCESS_KEY: credit_rating.scheduled_starts,
    dossier_upkeep.PROCESS_KEY: dossier_upkeep.scheduled_starts,
    early_warning.PROCESS_KEY: early_warning.urgent_starts,
    early_warning.ROUTINE_KEY: early_warning.routine_starts,
    visits.PLAN_KEY: visits.plan_starts,
    visits.SUMMARY_KEY: visits.summary_starts,
}

SERVICES = {
    "prepare_visit_plan": visits.plan_sheet,
    "prepare_visit_summary": visits.summary_rows,
    "prepare_warning_list": early_warning.warning_list,
    "collect_dossier_changes": dossier_upkeep.collect,
    "grade_customer": credit_rating.grade,
    "reclassify_customer": credit_rating.classify,
    "copy_to_readers": readers.copy_to_readers,
    "grant_dossier_loan": borrowing.grant_loan,
    "remind_overdue": reminders.remind_overdue,
    "prepare_star_rating_sheet": star_rating.prepare_sheet,
    "record_initial_stars": star_rating.record_initial,
    "record_second_round_stars": star_rating.record_second_round,
    "approve_low_stars": partial(star_rating.approve_part, part=star_rating.LOW),
    "approve_high_stars": partial(star_rating.approve_part, part=star_rating.HIGH),
    "finalize_star_rating": star_rating.finalize,
    "register_complaint": complaints.register,
    "record_complaint_acknowledgement": complaints.record_acknowledgement,
    "classify_complaint": complaints.classify,
    "escalate_complaint": complaints.escalate,
    "record_complaint_feedback": complaints.record_feedback,
}


def may_start(process_key: str, user: org.User) -> bool:
    roles = STARTERS.get(process_key)
    return roles is None or any(user.has_role(role) for role in roles)
