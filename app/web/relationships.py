"""Patrols, return visits and relationship managers on the pages: the dossier's panels (return-visit
reports, patrols, the relationship manager), the branch manager's list of his branch's customers by tier
with their relationship managers, and the page naming one."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.calendar import clock
from app.domain import dossiers, org, patrols, return_visits
from app.errors import Conflict, InvalidData
from app.policy import SET_RELATIONSHIP_MANAGER
from app.web import policy
from forms.patrols import RelationshipManagerForm
from forms.return_visits import EVALUATIONS

bp = Blueprint("relationships", __name__)
EVALUATION_WORDS = {choice.value: choice.label for choice in EVALUATIONS}


@bp.app_context_processor
def _dossier_panels() -> dict:
    return {"return_visit_panel": return_visit_panel, "patrol_panel": patrol_panel,
            "relationship_panel": relationship_panel}


def return_visit_panel(customer) -> dict:
    """The dossier's return-visit reports; the button to file one for the customer's rep."""
    return {"reports": return_visits.of_customer(customer.id),
            "may_file": current_user.has_role(org.SALES_REP, customer.territory_id),
            "evaluation_words": lambda code: EVALUATION_WORDS.get(code, code)}


def patrol_panel(customer) -> dict:
    """The dossier's patrols: the customer's tier, who patrolled it when, what was found and solved."""
    return {"tier": patrols.tier_of(customer), "tier_words": patrols.TIER_WORDS,
            "patrols": patrols.of_customer(customer.id)}


def relationship_panel(customer) -> dict:
    """The dossier's relationship manager, and whether this user may name one."""
    return {"manager": patrols.relationship_manager(customer), "needed": patrols.needs_relationship_manager(customer),
            "may_set": policy().may(current_user, SET_RELATIONSHIP_MANAGER, customer)}


@bp.route("/relationships")
@login_required
def index():
    """The branch manager's customers by tier, core and important first, with their relationship managers."""
    policy().require(current_user, SET_RELATIONSHIP_MANAGER)
    rows = patrols.branch_customers(patrols.relationship_branches(current_user))
    return render_template("customers/relationships.html", rows=rows, tier_words=patrols.TIER_WORDS,
                           manager_of=patrols.relationship_manager)


@bp.route("/customers/<int:customer_id>/relationship-manager", methods=["GET", "POST"])
@login_required
def relationship_manager(customer_id: int):
    """The branch manager names (or clears) a core or important customer's relationship manager."""
    customer = dossiers.get_customer(customer_id)
    policy().require(current_user, SET_RELATIONSHIP_MANAGER, customer)
    form = RelationshipManagerForm(data={"person_id": customer.relationship_manager_id})
    if form.validate_on_submit():
        try:
            patrols.set_relationship_manager(customer, form.person_id.data, current_user, clock.now())
        except (InvalidData, Conflict) as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
        else:
            flash(_l("Relationship manager saved."), "success")
            return redirect(url_for("relationships.index"))
    form.fill_choices(customer)
    return render_template("customers/relationship_manager.html", customer=customer, form=form,
                           tier=patrols.tier_of(customer), tier_words=patrols.TIER_WORDS), 400 if form.errors else 200
