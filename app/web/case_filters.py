"""The case search's filters, read from the query string by the compliance pages and the API alike."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app import labels
from app.engine import definitions
from app.engine.models import STATUSES
from app.errors import InvalidData
from app.read.case_search import SORTS, CaseFilter


class CaseSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    # Not `process`: that is the name of a WTForms method.
    process_key = SelectField(_l("Process"), validate_choice=False)
    version = IntegerField(_l("Version"), validators=[Optional(), NumberRange(min=1)])
    customer = StringField(_l("Customer (code or name)"), validators=[Optional(), Length(max=120)])
    initiator = StringField(_l("Initiator (user name)"), validators=[Optional(), Length(max=60)])
    participant = StringField(_l("Participant (user name)"), validators=[Optional(), Length(max=60)])
    since = DateField(_l("Started from"), validators=[Optional()])
    until = DateField(_l("Started until"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[SelectChoice(code) for code in ("", *STATUSES)], default="")
    outcome = SelectField(_l("Outcome"), default="")  # choices: every flow's outcomes (see __init__)
    overdue = BooleanField(_l("Overdue"))
    escalated = BooleanField(_l("Escalated"))
    words = StringField(_l("Words in comments"), validators=[Optional(), Length(max=100)])
    sort = SelectField(_l("Sort by"), choices=[SelectChoice(code) for code in SORTS], default="started")
    order = SelectField(_l("Order"), choices=[SelectChoice("desc"), SelectChoice("asc")], default="desc")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome.choices = [SelectChoice(code) for code in ("", *labels.OUTCOMES)]

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))

    def label_choices(self) -> None:
        """Words instead of codes, for the page (validation never depends on them)."""
        self.process_key.choices = [SelectChoice("", _l("All processes"))] + [
            SelectChoice(d.key, d.name) for d in definitions.latest_definitions()]
        self.status.choices = [SelectChoice("", _l("Any status"))] + [
            SelectChoice(code, labels.label(labels.STATUSES, code)) for code in STATUSES]
        self.outcome.choices = [SelectChoice("", _l("Any outcome"))] + [
            SelectChoice(code, words) for code, words in labels.OUTCOMES.items()]
        self.sort.choices = [SelectChoice("started", _l("Started")), SelectChoice("ended", _l("Ended")),
                             SelectChoice("case", _l("Case number")), SelectChoice("process", _l("Process"))]
        self.order.choices = [SelectChoice("desc", _l("Newest first")), SelectChoice("asc", _l("Oldest first"))]

    def case_filter(self) -> CaseFilter:
        """The filters of a validated form."""
        text = lambda field: (field.data or "").strip() or None  # noqa: E731
        return CaseFilter(
            process_key=self.process_key.data or None, version=self.version.data, customer=text(self.customer),
            initiator=text(self.initiator), participant=text(self.participant), since=self.since.data,
            until=self.until.data, status=self.status.data or None, outcome=self.outcome.data or None,
            overdue=self.overdue.data, escalated=self.escalated.data, words=text(self.words),
            words_in=current_app.extensions["engine"].extensions.comment_fields,
            sort=self.sort.data, descending=self.order.data != "asc")


def read_filters(args: MultiDict) -> CaseFilter:
    """The filters of a query string, for the API and the exports: a 400 naming each bad field."""
    form = CaseSearchForm(formdata=args)
    if not form.validate():
        raise InvalidData(_l("Some search fields are not valid."), form.errors)
    return form.case_filter()
