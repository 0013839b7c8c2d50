"""Potential customers: the leads by stage for the rep and his branch, the contact log's entry from the
potential customer's dossier, and the branch's rhythm of contacts."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.calendar import clock, local
from app.domain import leads, marketing_support, org
from app.engine import queries
from app.errors import Conflict, InvalidData
from app.policy import LOG_CONTACT, READ_DOSSIER, SEE_CONTACTS, SEE_LEADS, SET_LEAD_RHYTHM, VIEW
from app.web import policy
from forms.leads import ContactForm, RhythmForm

bp = Blueprint("leads", __name__)


@bp.record
def _hand_over_the_engine(state) -> None:
    """The first order completes a lead's waiting step through the application's engine."""
    leads.use_engine(state.app.extensions["engine"])


@bp.app_context_processor
def _dossier_panel() -> dict:
    return {"lead_panel": lead_panel}


def lead_panel(customer) -> dict | None:
    """What the dossier shows of a potential customer (or one a lead made a customer): its lead, its
    contact log for those who may see it, the form for those who may log, its support requests."""
    lead = leads.lead_of(customer.id)
    if lead is None and not customer.potential:
        return None
    user = current_user
    open_steps = [task.spec_id for task in queries.open_tasks_of([lead.instance_id]).get(lead.instance_id, [])] \
        if lead else []
    may_log = customer.potential and policy().may(user, LOG_CONTACT, customer)
    return {
        "lead": lead, "case_visible": bool(lead and policy().may(user, VIEW, lead.instance)),
        "stage_words": leads.STAGE_WORDS[leads.stage(lead.instance, open_steps)] if lead else "",
        "rhythm_days": leads.rhythm_days(customer.branch.id),
        "may_see_contacts": policy().may(user, SEE_CONTACTS, customer),
        "contacts": leads.contacts_of(customer.id) if policy().may(user, SEE_CONTACTS, customer) else [],
        "kind_words": leads.CONTACT_WORDS, "form": ContactForm() if may_log else None,
        "today": local(clock.now()).date().isoformat(),
        "support": [case for case in marketing_support.of_customer(customer.id) if policy().may(user, VIEW, case)],
        "may_ask_support": any(c.id == customer.id for c in marketing_support.first_deal_customers(user)),
    }


@bp.route("/leads")
@login_required
def index():
    policy().require(current_user, SEE_LEADS)
    wanted = request.args.get("stage", "")
    wanted = wanted if wanted in leads.STAGES else ""
    rows = leads.listing(current_user, wanted or None)
    return render_template("leads/index.html", rows=rows, wanted=wanted, stages=leads.STAGE_WORDS,
                           may_set_rhythm=policy().may(current_user, SET_LEAD_RHYTHM),
                           may_start=bool(leads.territories_of(current_user)))


@bp.route("/customers/<int:customer_id>/contacts", methods=["GET", "POST"])
@login_required
def contacts(customer_id: int):
    """A potential customer's contact log and its entry: on the dossier for its rep, on a page of its own
    for the branch's managers (who do not read the dossier without borrowing it)."""
    customer = leads.get_customer(customer_id)
    if request.method == "GET":
        policy().require(current_user, SEE_CONTACTS, customer)
        form = ContactForm() if customer.potential and policy().may(current_user, LOG_CONTACT, customer) else None
        return render_template("leads/contacts.html", customer=customer, contacts=leads.contacts_of(customer.id),
                               form=form, kind_words=leads.CONTACT_WORDS, lead=leads.lead_of(customer.id),
                               today=local(clock.now()).date().isoformat())
    policy().require(current_user, LOG_CONTACT, customer)
    back = (url_for("customers.dossier", customer_id=customer.id) + "#contacts"
            if policy().may(current_user, READ_DOSSIER, customer) else url_for("leads.contacts", customer_id=customer.id))
    form = ContactForm()
    if form.validate_on_submit():
        try:
            leads.log_contact(customer, current_user, form.values(), clock.now())
        except (InvalidData, Conflict) as exc:
            flash(exc.message, "danger")
        else:
            flash(_l("Contact logged."), "success")
        return redirect(back)
    for name, messages in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        flash(f"{label}: {' '.join(str(m) for m in messages)}", "danger")
    return redirect(back)


@bp.route("/leads/rhythm", methods=["GET", "POST"])
@login_required
def rhythm():
    """The branch's rhythm of contacts with its potential customers (its sales manager, or an admin)."""
    policy().require(current_user, SET_LEAD_RHYTHM)
    branches = leads.rhythm_branches(current_user)
    form = RhythmForm()
    form.branch.choices = [(branch.code, branch.name) for branch in branches]
    if request.method == "GET" and len(branches) == 1:
        form.branch.data = branches[0].code
        form.days.data = leads.rhythm_days(branches[0].id)
    status = 200
    if form.validate_on_submit():
        try:
            branch = org.branch_named(form.branch.data)
            policy().require(current_user, SET_LEAD_RHYTHM, branch)
            leads.set_rhythm(branch, current_user, form.days.data, clock.now())
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
        else:
            flash(_l("Rhythm of contacts set: %(days)s days.", days=form.days.data), "success")
            return redirect(url_for("leads.rhythm"))
    if form.errors:
        status = 400
    current = [(branch, leads.rhythm_days(branch.id)) for branch in branches]
    return render_template("leads/rhythm.html", form=form, current=current), status
