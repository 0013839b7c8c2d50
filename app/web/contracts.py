"""Contracts (seed 001 §9): filing one for review (the request page with its instalment and document rows),
the list of the contracts one may see, a contract's page (terms, checks, delivered against contracted tons,
paid against due, the documents, what is overdue), and the contract administrator's entry of a payment or
a document received. The review itself runs as the process `contract_review`, decided on the task pages."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import db
from app.calendar import clock, local
from app.domain import contracts
from app.engine import attachments, definitions
from app.engine.models import Instance
from app.errors import Conflict, InvalidData
from app.policy import SEE_CONTRACTS, START, TRACK_CONTRACT, VIEW
from app.web import engine, policy
from forms import build_form, for_display, form_data, uploaded_files
from forms.contracts import DocumentReceivedForm, PaymentForm

bp = Blueprint("contracts", __name__)
# Rows the request page offers (rows left empty are no instalment, no document).
PAYMENT_ROWS, DOCUMENT_ROWS = 4, 3


@bp.app_context_processor
def _dossier_panel() -> dict:
    return {"contract_panel": contract_panel, "contract_words": contract_words}


def contract_words() -> tuple:
    """The words a contract's terms are shown with: its templates, the checks, the signer's capacities."""
    return contracts.TEMPLATES, contracts.CHECKS, contracts.SIGNER_CAPACITIES


def contract_panel(customer) -> dict | None:
    """What the dossier shows of a customer's contracts, for those who may see them: the signed ones with
    what is outstanding, the reviews not signed, and, for its rep, the way to file one."""
    user = current_user
    if not policy().may(user, SEE_CONTRACTS, customer):
        return None
    today = local(clock.now()).date()
    signed = [(contract, contracts.outstanding(contract, today)) for contract in contracts.visible(user, customer.id)]
    reviews = [case for case in contracts.reviews_of(customer.id) if policy().may(user, VIEW, case)]
    may_file = any(c.id == customer.id for c in contracts.customers_of(user))
    return {"signed": signed, "reviews": reviews, "may_file": may_file, "status_words": contracts.STATUS_WORDS}


@bp.route("/contracts")
@login_required
def index():
    policy().require(current_user, SEE_CONTRACTS)
    today = local(clock.now()).date()
    rows = [(contract, contracts.outstanding(contract, today)) for contract in contracts.visible(current_user)]
    return render_template("contracts/index.html", rows=rows, status_words=contracts.STATUS_WORDS,
                           may_file=bool(contracts.territories_of(current_user)))


@bp.route("/contracts/new", methods=["GET", "POST"])
@login_required
def new():
    """The rep's contract review request, on the page that lays its rows out (the generic request page
    serves it too)."""
    definition = definitions.latest_definition(contracts.PROCESS_KEY)
    if definition is None:
        abort(404)
    policy().require(current_user, START, definition)
    form = build_form(definition.start_form_key)
    if request.method == "GET":
        if request.args.get("customer_id", type=int):
            form.customer_id.data = request.args.get("customer_id", type=int)
        form.contract_template.data = next(iter(contracts.TEMPLATES))
    while len(form.payments.entries) < PAYMENT_ROWS:
        form.payments.append_entry()
    while len(form.documents.entries) < DOCUMENT_ROWS:
        form.documents.append_entry()
    if form.validate_on_submit():
        files = uploaded_files(form)
        try:
            for name, content in files:  # refuse a bad file before anything is filed
                attachments.checked(name, content)
            instance = engine().cases.start(contracts.PROCESS_KEY, current_user, form_data(form))
            if files:
                engine().cases.attach(instance.id, current_user, files)
        except (InvalidData, Conflict) as exc:
            for name, messages in exc.fields.items():
                field = getattr(form, name, None)
                (field.errors if field is not None and isinstance(field.errors, list) else form.form_errors).extend(messages)
        else:
            flash(_l("Your contract has been filed for review (case %(id)s).", id=instance.id), "success")
            return redirect(url_for("cases.case", instance_id=instance.id))
    status = 400 if request.method == "POST" else 200
    customer = None
    if form.customer_id.data:
        customer = next((c for c in contracts.customers_of(current_user) if c.id == form.customer_id.data), None)
    return render_template("contracts/new.html", definition=definition, form=for_display(form, current_user),
                           customers=contracts.customers_of(current_user), chosen=customer), status


def _contract(contract_id: int):
    contract = contracts.get(contract_id)
    policy().require(current_user, SEE_CONTRACTS, contract.customer)
    return contract


def _page(contract, payment_form=None, document_form=None, status=200):
    today = local(clock.now()).date()
    may_track = policy().may(current_user, TRACK_CONTRACT, contract.customer) and contract.status == contracts.SIGNED
    return render_template(
        "contracts/contract.html", contract=contract, figures=contracts.outstanding(contract, today), today=today,
        status_words=contracts.STATUS_WORDS, capacities=contracts.SIGNER_CAPACITIES, checks=contracts.CHECKS,
        templates=contracts.TEMPLATES, may_track=may_track,
        case_visible=policy().may(current_user, VIEW, engine_instance(contract)),
        payment_form=payment_form or PaymentForm(formdata=None),
        document_form=document_form or DocumentReceivedForm(formdata=None)), status


def engine_instance(contract) -> Instance:
    return db.session.get(Instance, contract.instance_id)


def _field_errors(form, exc: InvalidData) -> None:
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        (field.errors if field is not None else form.form_errors).extend(messages)


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    return _page(_contract(contract_id))


@bp.route("/contracts/<int:contract_id>/payments", methods=["POST"])
@login_required
def enter_payment(contract_id: int):
    return _track(contract_id, PaymentForm, contracts.record_payment, "payment_form", _l("Payment entered."),
                  "#payments")


@bp.route("/contracts/<int:contract_id>/documents", methods=["POST"])
@login_required
def receive_document(contract_id: int):
    return _track(contract_id, DocumentReceivedForm, contracts.record_document, "document_form",
                  _l("Document recorded as received."), "#documents")


def _track(contract_id: int, form_class, record, form_name: str, done, anchor: str):
    """The contract administrator's entry of what came in (`record` keeps it): the contract's page again,
    with the form's errors, or with what was kept said."""
    contract = _contract(contract_id)
    policy().require(current_user, TRACK_CONTRACT, contract.customer)
    form = form_class()
    if form.validate_on_submit():
        try:
            record(contract, current_user, form.values(), clock.now())
        except InvalidData as exc:
            _field_errors(form, exc)
        except Conflict as exc:
            flash(exc.message, "danger")
            return redirect(url_for("contracts.contract", contract_id=contract.id))
        else:
            flash(done, "success")
            return redirect(url_for("contracts.contract", contract_id=contract.id) + anchor)
    return _page(contract, **{form_name: form}, status=400)
