"""What is about me: my notifications and my away periods (with the deputy who acts for me)."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from app import db
from app.calendar import clock
from app.domain import delegation, notifications
from app.domain.notifications import Notification
from app.engine import definitions
from app.errors import AppError, NotFound
from app.policy import END_AWAY, SET_AWAY
from app.web import policy
from app.web.operation_forms import AwayForm

bp = Blueprint("me", __name__)


@bp.app_context_processor
def inject_unread():
    """For the top bar: how many notifications the signed-in user has not read, up to "99+" (asked only
    when drawn)."""
    def badge() -> str:
        if not current_user.is_authenticated:
            return ""
        unread = notifications.unread_count(current_user, at_most=BADGE_MOST + 1)
        return "" if not unread else f"{BADGE_MOST}+" if unread > BADGE_MOST else str(unread)
    return {"unread_notifications": badge}


BADGE_MOST = 99


@bp.route("/notifications")
@login_required
def notification_list():
    page = notifications.page_of(current_user, request.args.get("page", 1, type=int),
                                 current_app.config["PAGE_SIZE"])
    return render_template("me/notifications.html", page=page)


@bp.route("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int):
    """Read it: mark it read and go to its task (or case)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        raise NotFound(_l("No such notification."))
    notifications.mark_read(current_user, clock.now(), [notification.id])
    if notification.task_id:
        return redirect(url_for("tasks.task", task_id=notification.task_id))
    return redirect(url_for("cases.case", instance_id=notification.instance_id))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all():
    notifications.mark_read(current_user, clock.now())
    return redirect(url_for("me.notification_list"))


def _render_away(form, status=200):
    form.processes.choices = [SelectChoice(d.key, d.name) for d in definitions.latest_definitions()]
    return render_template("me/away.html", form=form, periods=delegation.periods_of(current_user, clock.now())), status


@bp.route("/away", methods=["GET", "POST"])
@login_required
def away():
    """My away periods and deputies; an administrator also sets them for someone who is away."""
    form = AwayForm()
    if form.validate_on_submit():
        starts_at, ends_at = form.period()
        try:
            person = form.person.person or current_user
            policy().require(current_user, SET_AWAY, person)
            delegation.set_period(person, form.deputy.person, starts_at, ends_at, form.processes.data, current_user,
                                  clock.now())
        except AppError as exc:
            for name, messages in exc.fields.items():
                getattr(form, name if hasattr(form, name) else "deputy").errors.extend(messages)
            if not exc.fields:
                form.person.errors.append(exc.message)
        else:
            flash(_l("Away period saved: tasks meant for you personally go to your deputy meanwhile."), "success")
            return redirect(url_for("me.away"))
        return _render_away(form, 400)
    return _render_away(form, 400 if request.method == "POST" else 200)


@bp.route("/away/<int:period_id>/end", methods=["POST"])
@login_required
def end_away(period_id: int):
    period = delegation.period(period_id)
    policy().require(current_user, END_AWAY, period)
    delegation.end_period(period, clock.now())
    flash(_l("Away period ended."), "success")
    return redirect(url_for("me.away"))
