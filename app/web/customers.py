"""Customer list, dossier page (access-gated and logged), the rep's edit of a dossier, the dossier's
access log, and the branch's purchase records (entered one by one, or imported from the sales system)."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from app import db
from app.calendar import clock
from app.domain import (
    classes,
    credit_rating,
    dossier_upkeep,
    dossiers,
    purchase_analysis,
    purchases,
    registration,
    star_rating,
    visits,
)
from app.domain.customers import Customer
from app.engine import attachments
from app.errors import Conflict, Forbidden, InvalidData
from app.policy import (
    EDIT_DOSSIER,
    RECORD_PURCHASES,
    RECORD_VISIT,
    SEE_ACCESS_LOG,
    SEE_CONTRACTS,
    SEE_LEADS,
    SET_RELATIONSHIP_MANAGER,
    VIEW,
    purchase_branches,
    readable_customer_ids,
)
from app.web import policy
from forms.customer_classes import AttitudeForm
from forms.dossier_update import FIELD_LABELS, DossierEditForm
from forms.purchases import PurchaseImportForm, PurchaseRecordForm
from forms.visits import VisitRecordForm

bp = Blueprint("customers", __name__)

# The customer pages beside the list that the menu offers to whoever the policy lets open them.
MENU = ((SEE_LEADS, "leads.index", _l("Potential customers")), (SEE_CONTRACTS, "contracts.index", _l("Contracts")),
        (SET_RELATIONSHIP_MANAGER, "relationships.index", _l("Relationship managers")))


@bp.app_context_processor
def inject_customer_menu():
    """For the menu: the customer pages the signed-in user may open (asked only when drawn)."""
    def customer_menu() -> list[tuple[str, str]]:
        if not current_user.is_authenticated:
            return []
        return [(endpoint, words) for action, endpoint, words in MENU if policy().may(current_user, action)]
    return {"customer_menu": customer_menu}


# Each class kind's query parameter on the customer list.
CLASS_FILTERS = {classes.ABC: "abc", classes.VOLUME: "tier", classes.VALUE: "value", classes.ATTITUDE: "attitude"}


@bp.route("/customers")
@login_required
def index():
    query = select(Customer).order_by(Customer.code)
    needle = request.args.get("q", "").strip()
    if needle:
        # The words as typed: "%" and "_" match only themselves.
        query = query.where(Customer.name.contains(needle, autoescape=True)
                            | Customer.code.contains(needle, autoescape=True))
    # The classes as filters: ?abc=A&tier=3&value=core&attitude=loyal (an unknown value is ignored).
    chosen = {kind: request.args.get(CLASS_FILTERS[kind], "") for kind in CLASS_FILTERS}
    query = classes.filter_customers(query, abc=chosen[classes.ABC], tier=chosen[classes.VOLUME],
                                     value=chosen[classes.VALUE], attitude=chosen[classes.ATTITUDE])
    potential = request.args.get("potential", "")  # ?potential=yes: potential customers only; no: the others
    if potential in ("yes", "no"):
        query = query.where(Customer.potential.is_(potential == "yes"))
    customers = db.session.scalars(query).all()
    readable = readable_customer_ids(current_user, clock.now())
    return render_template("customers/index.html", customers=customers, readable=readable, needle=needle,
                           class_filters=[(CLASS_FILTERS[kind], classes.KINDS[kind], chosen[kind],
                                           [(value, classes.value_words(kind, value)) for value in classes.VALUES[kind]])
                                          for kind in CLASS_FILTERS],
                           potential=potential if potential in ("yes", "no") else "",
                           may_see_leads=policy().may(current_user, SEE_LEADS),
                           may_enter_purchases=policy().may(current_user, RECORD_PURCHASES))


@bp.route("/customers/<int:customer_id>")
@login_required
def dossier(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    try:
        read = policy().read_dossier(current_user, customer, clock.now(), channel="page")
    except Forbidden as exc:
        return render_template("customers/no_access.html", customer=customer, message=exc.message), 403
    purchases = customer.purchases[:24]
    return render_template("customers/dossier.html", customer=customer, read=read, purchases=purchases,
                           totals=dossiers.purchase_totals(customer), stars=star_rating.history(customer.id)[:12],
                           credit=credit_rating.history(customer.id)[:8],
                           changes=dossier_upkeep.changes_of(customer.id, 20), field_labels=FIELD_LABELS,
                           may_edit=policy().may(current_user, EDIT_DOSSIER, customer),
                           visit_records=visits.of_customer(customer.id),
                           **_registration(customer), **classes.dossier_context(customer.id),
                           purchase_analyses=purchase_analysis.of_customer(customer.id),
                           may_record_visit=policy().may(current_user, RECORD_VISIT, customer),
                           may_see_log=policy().may(current_user, SEE_ACCESS_LOG, customer))


def _registration(customer) -> dict:
    """The case that registered the customer and its documents, for those who may see that case."""
    case = registration.registration_of(customer.id)
    if case is None or not policy().may(current_user, VIEW, case):
        return {"registration_case": None, "registration_files": []}
    return {"registration_case": case, "registration_files": attachments.of_case(case.id)}


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id: int):
    """The rep of the customer's territory keeps its dossier current; every change is kept."""
    customer = dossiers.get_customer(customer_id)
    policy().require(current_user, EDIT_DOSSIER, customer)
    form = DossierEditForm(obj=customer)
    if form.validate_on_submit():
        changes = dossier_upkeep.edit(customer, current_user, form.values(), clock.now())
        flash(_l("%(count)s field(s) changed.", count=len(changes)) if changes else _l("Nothing changed."), "success")
        return redirect(url_for("customers.dossier", customer_id=customer.id))
    return render_template("customers/edit.html", customer=customer, form=form,
                           static=dossier_upkeep.FIELDS[dossier_upkeep.STATIC],
                           dynamic=dossier_upkeep.FIELDS[dossier_upkeep.DYNAMIC]), 400 if form.errors else 200


@bp.route("/customers/<int:customer_id>/attitude", methods=["GET", "POST"])
@login_required
def attitude(customer_id: int):
    """The rep of the customer's territory judges its attitude (seed 002), with his reason."""
    customer = dossiers.get_customer(customer_id)
    policy().require(current_user, EDIT_DOSSIER, customer)
    current = classes.current_classes(customer.id).get(classes.ATTITUDE)
    form = AttitudeForm(data={"attitude": current.value} if current else None)
    if form.validate_on_submit():
        classes.set_attitude(customer, form.attitude.data, form.reason.data, current_user, clock.now())
        db.session.commit()
        flash(_l("The attitude is kept with today's date."), "success")
        return redirect(url_for("customers.dossier", customer_id=customer.id))
    return render_template("customers/attitude.html", customer=customer, form=form, current=current,
                           class_words=classes.value_words), 400 if form.errors else 200


@bp.route("/customers/<int:customer_id>/access-log")
@login_required
def access_log(customer_id: int):
    customer = dossiers.get_customer(customer_id)
    policy().require(current_user, SEE_ACCESS_LOG, customer)
    return render_template("customers/access_log.html", customer=customer,
                           reads=dossiers.access_log(customer))


@bp.route("/customers/<int:customer_id>/visits/new", methods=["GET", "POST"])
@login_required
def record_visit(customer_id: int):
    """A visit into the dossier, by the customer's rep, its branch's managers or HQ marketing."""
    customer = dossiers.get_customer(customer_id)
    policy().require(current_user, RECORD_VISIT, customer)
    form = VisitRecordForm()
    if form.validate_on_submit():
        try:
            visits.record(customer, current_user, form.values(), clock.now())
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                getattr(form, name).errors.extend(messages)
        else:
            flash(_l("Visit recorded."), "success")
            return redirect(url_for("customers.dossier", customer_id=customer.id))
    return render_template("customers/visit.html", customer=customer, form=form), 400 if form.errors else 200


def _purchases_page(entry: PurchaseRecordForm, upload: PurchaseImportForm, refused=None, status: int = 200):
    branches = purchase_branches(current_user)
    return render_template("customers/purchases.html", entry=entry, upload=upload, refused=refused,
                           customers=purchases.customers_of(branches), records=purchases.recent(branches),
                           columns=[(column, purchases.COLUMN_WORDS[column]) for column in purchases.COLUMNS]
                           ), status


@bp.route("/customers/purchases", methods=["GET", "POST"])
@login_required
def purchase_records():
    """The branch's purchase records: one order entered by hand (POST), or a file imported (below);
    its business department, customer specialists and sales manager, and HQ administrators."""
    policy().require(current_user, RECORD_PURCHASES)
    entry = PurchaseRecordForm()
    if entry.validate_on_submit():
        try:
            record = purchases.record(current_user, entry.values(), purchase_branches(current_user), clock.now())
        except (InvalidData, Forbidden) as exc:  # another branch's customer: 403, what was typed kept
            for name, messages in exc.fields.items():
                getattr(entry, name).errors = [*getattr(entry, name).errors, *messages]
            return _purchases_page(entry, PurchaseImportForm(formdata=None), status=exc.status)
        flash(_l("Order of %(code)s recorded.", code=record.customer.code), "success")
        return redirect(url_for("customers.purchase_records"))
    return _purchases_page(entry, PurchaseImportForm(formdata=None), status=400 if entry.errors else 200)


@bp.route("/customers/purchases/import", methods=["POST"])
@login_required
def import_purchases():
    """A file of orders from the sales system: all its rows or none; the bad rows listed by number."""
    policy().require(current_user, RECORD_PURCHASES)
    upload = PurchaseImportForm()
    entry = PurchaseRecordForm(formdata=None)
    if not upload.validate_on_submit():
        return _purchases_page(entry, upload, status=400)
    storage = upload.file.data
    try:
        batch = purchases.import_file(current_user, storage.filename, storage.read(),
                                      purchase_branches(current_user), clock.now())
    except purchases.RowsRefused as exc:
        return _purchases_page(entry, upload, refused=exc, status=400)
    except (InvalidData, Conflict) as exc:
        upload.file.errors = [*upload.file.errors, exc.message]
        return _purchases_page(entry, upload, status=exc.status)
    flash(_l("%(count)s order(s) imported from %(file)s.", count=batch.rows, file=batch.filename), "success")
    return redirect(url_for("customers.purchase_records"))
