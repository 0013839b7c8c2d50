"""The forms of `purchase_analysis`: opening a territory's month by hand, the rep's sheet (a short
analysis of each key customer) and the sales manager's acknowledgement.

The sheet's rows come from the case (app.domain.purchase_analysis.sheet_rows), never from what is
posted: `for_task` binds the form to its task, and validation checks the posted rows against them.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import FieldList, Form, FormField, IntegerField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation
from wtforms.widgets import HiddenInput

from app import db
from app.domain import org
from app.domain import purchase_analysis as analysis
from forms.common import MONTH_FIELD, choice


class PurchaseAnalysisStartForm(FlaskForm):
    """Start form: a process administrator opens one territory's analysis of an ended month by hand."""

    territory = choice(_l("Territory"), validate_choice=False)
    month = StringField(_l("Month analysed"), description=_l(
        "YYYY-MM. The schedule opens last month's analysis of every territory on the 1st by itself."), **MONTH_FIELD)

    def fill_choices(self, user):
        self.territory.choices = [SelectChoice(code, name) for code, name in db.session.execute(
            select(org.OrgUnit.code, org.OrgUnit.name).where(org.OrgUnit.kind == org.TERRITORY)
            .order_by(org.OrgUnit.code))]


class AnalysisRow(Form):
    customer_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    analysis = TextAreaField(_l("Analysis"), validators=[DataRequired(message=_l("Write a short analysis.")),
                                                         Length(max=analysis.ANALYSIS_MAX)])


class _ShowsSheet(FlaskForm):
    """A step showing the key customers and their figures the case's service listed."""

    def for_task(self, task):
        self.lines = analysis.sheet_rows(task.instance_id)
        self.line_by_customer = {line["customer_id"]: line for line in self.lines}
        return self

    def context(self) -> dict:
        return {"rows": self.lines}


class PurchaseAnalysisSheetForm(_ShowsSheet):
    """The rep's analysis: every key customer of his territory needs a short text."""

    template = "forms/purchase_analysis_sheet.html"
    analyses = FieldList(FormField(AnalysisRow), _l("Analysis of each key customer"), min_entries=0,
                         max_entries=2000)

    def for_task(self, task):
        super().for_task(task)
        if not self.is_submitted():
            for line in self.lines:
                self.analyses.append_entry({"customer_id": line["customer_id"], "analysis": ""})
        return self

    def row_name(self, entry) -> str:
        line = self.line_by_customer.get(entry.customer_id.data)
        return f"{line['code']} {line['name']}" if line else str(entry.customer_id.data)

    def validate_analyses(self, field):
        problems, seen = [], set()
        for entry in field.entries:
            customer_id = entry.customer_id.data
            if customer_id not in self.line_by_customer or customer_id in seen:
                problems.append(_l("Customer %(id)s is not on this sheet, or is analysed twice.", id=customer_id))
                continue
            seen.add(customer_id)
        missing = [line["code"] for line in self.lines if line["customer_id"] not in seen]
        if missing:
            problems.append(_l("Every customer on the sheet needs an analysis; missing: %(codes)s.",
                               codes=", ".join(missing)))
        if problems:
            field.errors.extend(problems)
            raise StopValidation()


class PurchaseAnalysisReadForm(_ShowsSheet):
    """The branch's sales manager has read the territory's analysis; a comment is optional."""

    template = "forms/purchase_analysis_read.html"
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)],
                            description=_l("Optional: what the rep should follow up."))

    def for_task(self, task):
        super().for_task(task)
        self.written = {row.customer_id: row.text for row in analysis.of_case(task.instance_id)}
        return self

    def context(self) -> dict:
        return {"rows": [{**line, "analysis": self.written.get(line["customer_id"], "")} for line in self.lines]}


FORMS = {
    "purchase_analysis_start": PurchaseAnalysisStartForm,
    "purchase_analysis_sheet": PurchaseAnalysisSheetForm,
    "purchase_analysis_read": PurchaseAnalysisReadForm,
}
