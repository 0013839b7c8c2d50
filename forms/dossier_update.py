"""The forms of dossier upkeep: the rep's edit of a dossier (a page of the dossier, not a step), and the
monthly report's steps, which show the month's changes as a diff (`for_task`: from the case, never
from what is posted)."""
import operator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.domain import dossier_upkeep
from forms.common import ApproveOrReturnForm, BranchMonthForm, Dated


class DossierEditForm(FlaskForm):
    """What the rep of the territory types; the code, the system-generated fields and the registered data
    (changed through the specialist's check: forms.registration) are not here."""

    registered_capital_wan = DecimalField(_l("Registered capital (10k yuan)"), places=2,
                                          validators=[Optional(), NumberRange(min=0)])
    cooperation_since = DateField(_l("Cooperating since"), validators=[
        Optional(), Dated(operator.le, _l("Cooperation cannot have started after today."))])
    product_lines = StringField(_l("Product lines purchased"), validators=[Length(max=200)])
    main_products = StringField(_l("Main products"), validators=[Length(max=200)])
    downstream_market = StringField(_l("Downstream market"), validators=[Length(max=200)])
    contact1_name = StringField(_l("First contact"), validators=[Length(max=60)])
    contact1_mobile = StringField(_l("First contact's mobile"), validators=[Length(max=30)])
    contact2_name = StringField(_l("Second contact"), validators=[Length(max=60)])
    contact2_mobile = StringField(_l("Second contact's mobile"), validators=[Length(max=30)])
    other_contacts = StringField(_l("Other contacts"), validators=[Length(max=200)])
    invoice_type = StringField(_l("Invoice type"), validators=[Length(max=40)])
    monthly_demand_tons = DecimalField(_l("Monthly demand (tons)"), places=2, validators=[Optional(), NumberRange(min=0)])
    equipment = StringField(_l("Equipment"), validators=[Length(max=200)])
    transport = StringField(_l("Transport"), validators=[Length(max=200)])
    status = StringField(_l("Status"), validators=[Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Length(max=30)])
    settlement_method = StringField(_l("Settlement method"), validators=[Length(max=60)])
    delivery_route = StringField(_l("Delivery route"), validators=[Length(max=200)])
    order_cycle = StringField(_l("Order cycle"), validators=[Length(max=60)])
    visit_cycle = StringField(_l("Visit cycle"), validators=[Length(max=60)])

    def values(self) -> dict:
        return {name: self[name].data for name in dossier_upkeep.KIND_OF}


# Each changeable field's label, for the diff of a report (from the forms that change them: one place).
FIELD_LABELS = {**{name: getattr(DossierEditForm, name).args[0] for name in dossier_upkeep.KIND_OF},
                **dossier_upkeep.REGISTERED_FIELDS}


class DossierUpdateStartForm(BranchMonthForm):
    """Start form: a process administrator opens a branch's report of a month by hand."""


class _ShowsChanges(FlaskForm):
    template = "forms/dossier_changes.html"
    field_labels = FIELD_LABELS

    def for_task(self, task):
        self.changes = dossier_upkeep.reported_in(task.instance_id)
        return self

    def context(self) -> dict:
        return {"changes": [{"customer": change.customer.code, "field": change.field, "kind": change.kind,
                             "old": change.old, "new": change.new, "by": change.changed_by.username,
                             "at": change.changed_at.isoformat()} for change in self.changes]}


class DossierChangesReportForm(_ShowsChanges):
    """The branch sends HQ the month's changes, with a note of what changed and why."""

    note = TextAreaField(_l("Note of what changed"), validators=[DataRequired(), Length(max=2000)],
                         description=_l("What changed this month and why; HQ files it with the dossiers."))


class DossierChangesReviewForm(_ShowsChanges, ApproveOrReturnForm):
    """HQ marketing reads the changes and files the report, or returns it to the branch."""

    approve_label, return_label = _l("File it"), _l("Return to the branch")
    comment_needed = _l("Say what the branch must complete.")


FORMS = {
    "dossier_update_start": DossierUpdateStartForm,
    "dossier_changes_report": DossierChangesReportForm,
    "dossier_changes_review": DossierChangesReviewForm,
}
