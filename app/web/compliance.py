"""Compliance review (合规审查): find any case, see exactly what happened, export it, prove the record.

For compliance reviewers (and process administrators, who see every case anyway); everyone else gets
403. Everything here reads; reviewers' writes are refused everywhere (web.refuse_changes_by_reviewers).
"""
from datetime import date

import orjson
from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import labels
from app.calendar import clock, day_start, end_of_day, local_text
from app.domain import dossiers, segregation
from app.engine import attachments, audit, definitions, queries
from app.errors import InvalidData
from app.exports import XLSX_MIMETYPE, to_csv, to_xlsx
from app.policy import REVIEW
from app.read import case_search, step_report, timeline
from app.web import dossier_pdf, engine, period_args, policy
from app.web.case_filters import CaseSearchForm, read_filters
from forms import readable

bp = Blueprint("compliance", __name__, url_prefix="/compliance")


@bp.before_request
@login_required
def only_reviewers():
    policy().require(current_user, REVIEW)


@bp.app_context_processor
def inject_review_right():
    """For the menu: whether the signed-in user may open the compliance pages."""
    return {"may_review": lambda: current_user.is_authenticated and policy().may(current_user, REVIEW),
            "readable": readable}


# -- finding cases -------------------------------------------------------------------------------

@bp.route("/cases")
def cases():
    form = CaseSearchForm(formdata=request.args)
    form.label_choices()
    if not form.validate():
        return render_template("compliance/cases.html", form=form, page=None), 400
    now = clock.now()
    page = case_search.page(current_user, form.case_filter(), now, request.args.get("page", 1, type=int),
                            current_app.config["PAGE_SIZE"])
    ids = [instance.id for instance in page.items]
    return render_template("compliance/cases.html", form=form, page=page, flags=case_search.flags(ids, now),
                           chains=audit.verify_cases(ids), waiting=queries.open_tasks_of(ids),
                           query={k: v for k, v in request.args.items() if k != "page"})


EXPORT_FORMATS = {"csv", "xlsx"}


@bp.route("/cases.<fmt>")
def export_cases(fmt: str):
    """Every case the search finds, as CSV or XLSX."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidData(_l("Export as csv or xlsx."))
    now = clock.now()
    wanted = read_filters(request.args)
    header = [_("Case"), _("Process"), _("Version"), _("Status"), _("Outcome"), _("Customer code"), _("Customer"),
              _("Requested by"), _("Org unit"), _("Started at"), _("Ended at"), _("Hours"), _("Overdue"),
              _("Escalated")]
    rows = [_export_row(instance, flag) for instance, flag in case_search.all_matching(current_user, wanted, now)]
    if fmt == "csv":
        body, mimetype = to_csv(header, rows), "text/csv"
    else:
        body, mimetype = to_xlsx(header, rows, title=_("Cases")), XLSX_MIMETYPE
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=cases.{fmt}"})


def _export_row(instance, flag: case_search.Flags) -> list:
    data, person = instance.start_data, instance.started_by
    hours = round((instance.ended_at - instance.started_at).total_seconds() / 3600, 2) if instance.ended_at else None
    yes_no = lambda value: _("yes") if value else _("no")  # noqa: E731
    return [instance.id, instance.definition.name, instance.definition.version,
            str(labels.label(labels.STATUSES, instance.status)),
            str(labels.label(labels.OUTCOMES, instance.outcome)) if instance.outcome else "",
            data.get("customer_code", ""), data.get("customer_name", ""),
            person.display_name if person else labels.opened_by_schedule(instance.definition),
            person.org_unit.name if person else "",
            local_text(instance.started_at), local_text(instance.ended_at), hours,
            yes_no(flag.overdue), yes_no(flag.escalated)]


# -- one case ----------------------------------------------------------------------------------------

@bp.route("/cases/<int:instance_id>")
def case(instance_id: int):
    instance = policy().visible_instance(current_user, instance_id)
    return render_template("compliance/case.html", instance=instance, entries=timeline.entries(instance, engine().extensions.comment_fields),
                           path=timeline.path(instance, clock.now()), tasks=queries.tasks_of(instance),
                           chain=audit.verify_cases([instance.id])[instance.id],
                           attachments=attachments.of_case(instance.id),
                           reads=dossiers.reads_under_case(instance.id))


@bp.route("/cases/<int:instance_id>/dossier.pdf")
def dossier(instance_id: int):
    """The case for the file: summary, data, decisions, timeline and the diagram with its path."""
    instance = policy().visible_instance(current_user, instance_id)
    now = clock.now()
    reads = [(read.at, read.user.display_name, read.channel) for read in dossiers.reads_under_case(instance.id)]
    body = dossier_pdf.render(instance, timeline.entries(instance, engine().extensions.comment_fields), timeline.path(instance, now),
                              chain_verified=audit.verify_cases([instance.id])[instance.id] is None,
                              reads=reads, generated_at=now)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=case-{instance.id}.pdf"})


# -- the audit trail and reports ---------------------------------------------------------------------

@bp.route("/trail.jsonl")
def trail():
    """The audit trail of a period (company days, both included) as JSON Lines with its hashes: check it
    with tools/verify_audit.py."""
    since, until = period_args()
    rows = audit.export_rows(day_start(since) if since else None, end_of_day(until) if until else None)
    body = (orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n" for row in rows)
    name = f"audit-trail-{since or 'start'}-{until or 'now'}.jsonl"
    return Response(stream_with_context(body), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.route("/segregation")
def segregation_exceptions():
    since, until = period_args()
    events = segregation.exceptions(day_start(since) if since else None, end_of_day(until) if until else None)
    return render_template("compliance/segregation.html", since=since, until=until,
                           overrides=[e for e in events if e.type == "duty_overridden"],
                           reroutes=[e for e in events if e.type == "duty_rerouted"])


def _step_report_filters() -> tuple[str | None, date | None, date | None]:
    """The step report's process and period from the query string; a bad date or an unknown process
    is a 400 that says so."""
    since, until = period_args()
    process_key = request.args.get("process", "").strip() or None
    if process_key and definitions.latest_definition(process_key) is None:
        raise InvalidData(_l("No such process."), {"process": [_l("No such process.")]})
    return process_key, since, until


@bp.route("/reports")
def reports():
    """Per process and step: how often, how long (median, 90th percentile), how often late or escalated."""
    process_key, since, until = _step_report_filters()
    return render_template("compliance/reports.html", processes=definitions.latest_definitions(),
                           sections=step_report.report(process_key, since, until, clock.now()),
                           process_key=process_key, since=since, until=until)


@bp.route("/reports.csv")
def reports_csv():
    process_key, since, until = _step_report_filters()
    header = [_("Process"), _("Process key"), _("Step"), _("Step id"), _("Executions"), _("Still open"),
              _("Median hours"), _("90th percentile hours"), _("Overdue"), _("Escalated")]
    rows = step_report.csv_rows(step_report.report(process_key, since, until, clock.now()))
    return Response(to_csv(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=step-report.csv"})
