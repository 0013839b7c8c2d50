"""The complaints failure analysis (失误分析): a page and a CSV export over the same filters and rule."""
from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import labels
from app.calendar import clock
from app.domain import failure_analysis
from app.errors import InvalidData
from app.policy import ANALYSE_COMPLAINTS, analysable_branches
from app.web import period_args, policy

bp = Blueprint("complaints", __name__)

NOT_DETERMINED = _l("(not determined)")


def _show(kind: str, value) -> str:
    if kind == "yes_no":
        return _("yes") if value else _("no")
    table = {"category": labels.COMPLAINT_CATEGORIES, "channel": labels.CHANNELS, "severity": labels.SEVERITIES,
             "customer_response": labels.CUSTOMER_RESPONSES}[kind]
    return str(labels.label(table, value))


@bp.app_context_processor
def inject_analysis_right():
    """For the menu: whether the signed-in user may open the analysis (asked only when drawn)."""
    def may_see_failure_analysis() -> bool:
        return current_user.is_authenticated and policy().may(current_user, ANALYSE_COMPLAINTS)
    return {"may_see_failure_analysis": may_see_failure_analysis}


def _filters():
    """since, until, branch id from the query string, and the branches to count (checked)."""
    since, until = period_args()
    branch_text = request.args.get("branch", "").strip()
    if branch_text and not branch_text.isdigit():
        raise InvalidData(_l("No such branch."), {"branch": [_l("No such branch.")]})
    branch_id = int(branch_text) if branch_text else None
    policy().require(current_user, ANALYSE_COMPLAINTS, branch_id)
    return since, until, branch_id, failure_analysis.scope(analysable_branches(current_user), branch_id)


@bp.route("/complaints/analysis")
@login_required
def analysis():
    since, until, branch_id, branch_ids = _filters()
    result, _rows = failure_analysis.analyse(branch_ids, since, until, clock.now())
    chart = {
        "categories": {"labels": [str(labels.label(labels.COMPLAINT_CATEGORIES, c.key)) for c in result.by_category],
                       "counts": [c.count for c in result.by_category], "title": _("Complaints by category")},
        "months": {"labels": [c.key for c in result.by_month], "counts": [c.count for c in result.by_month],
                   "title": _("Complaints by month")},
    }
    return render_template("complaints/analysis.html", result=result, chart=chart, since=since, until=until,
                           branch_id=branch_id,
                           branches=failure_analysis.branches(analysable_branches(current_user)),
                           not_determined=NOT_DETERMINED, failure_kinds=failure_analysis.FAILURE_KINDS)


@bp.route("/complaints/analysis.csv")
@login_required
def analysis_csv():
    since, until, _branch_id, branch_ids = _filters()
    rows = failure_analysis.complaints(branch_ids, since, until)
    header = [_("Case"), _("Received at"), _("Branch"), _("Customer code"), _("Category"), _("Channel"),
              _("Responsible"), _("Severity"), _("Proposed severity"), _("Escalated to the deputy"),
              _("Hours to acknowledgement"), _("Hours to feedback"), _("Customer response"), _("Repeat complaint")]
    body = failure_analysis.to_csv(header, failure_analysis.export_rows(rows), show=_show)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=complaints-analysis.csv"})
