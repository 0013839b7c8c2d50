"""Forms of the approval operations (transfer, signers, send back, withdraw, urge, copy, batch, away
periods): the same classes read a page's post and an API call's JSON (`from_json`)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateTimeLocalField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app import db
from app.calendar import COMPANY_TZ
from app.domain.org import User
from app.engine.models import AFTER_SIGN, BEFORE_SIGN


def _active_person(username: str) -> User:
    person = db.session.scalar(select(User).where(User.username == username.strip()))
    if person is None or not person.active:
        raise ValidationError(_l("No active person with the user name “%(name)s”.", name=username.strip()))
    return person


class PersonField(StringField):
    """A user name; once validated, `person` is that active user."""

    person: User | None = None

    def post_validate(self, form, validation_stopped):
        if not validation_stopped and self.data:
            try:
                self.person = _active_person(self.data)
            except ValidationError as exc:
                self.errors.append(str(exc))


class PeopleField(StringField):
    """User names separated by commas, spaces or 、; once validated, `people` are those active users."""

    people: list[User] = []

    def process_formdata(self, valuelist):
        # The API sends a list of names (repeated values, see from_json); a page sends one text.
        super().process_formdata([",".join(valuelist)] if valuelist else valuelist)

    def post_validate(self, form, validation_stopped):
        names = [n for n in (self.data or "").replace("、", ",").replace(" ", ",").split(",") if n.strip()]
        self.people = []
        for name in names:
            try:
                self.people.append(_active_person(name))
            except ValidationError as exc:
                self.errors.append(str(exc))


def from_json(form_class, body: dict, **kwargs):
    """A form bound to a JSON object (the API: no CSRF); lists become repeated values."""
    values = MultiDict()
    for name, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            values.add(name, "" if item is None else str(item))
    return form_class(formdata=values, meta={"csrf": False}, **kwargs)


class TransferForm(FlaskForm):
    to = PersonField(_l("Hand it to (user name)"), validators=[DataRequired(), Length(max=60)])
    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=1000)])


class SignerForm(FlaskForm):
    signer = PersonField(_l("Signer (user name)"), validators=[DataRequired(), Length(max=60)])
    position = RadioField(_l("When"), default=BEFORE_SIGN, validators=[InputRequired()],
                          choices=[SelectChoice(BEFORE_SIGN, _l("Before me: he gives his opinion, then I decide")),
                                   SelectChoice(AFTER_SIGN, _l("After me: he decides after my decision"))])
    comment = TextAreaField(_l("What to look at"), validators=[Length(max=1000)])


class SendBackForm(FlaskForm):
    to = SelectField(_l("Send back to"), validators=[InputRequired()])
    comment = TextAreaField(_l("What must change"), validators=[DataRequired(), Length(max=1000)])

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.to.choices = [SelectChoice(spec, name) for spec, name in targets]


class ReasonForm(FlaskForm):
    """Withdrawing a request: why."""

    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=1000)])


class UrgeForm(FlaskForm):
    comment = TextAreaField(_l("Message"), validators=[Length(max=500)])


class CopyForm(FlaskForm):
    readers = PeopleField(_l("Copy to (user names)"), validators=[DataRequired(), Length(max=500)])
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])


class BatchForm(FlaskForm):
    tasks = SelectMultipleField(_l("Tasks"), coerce=int, validate_choice=False,
                                validators=[DataRequired(_l("Choose the tasks to approve."))])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])


class AwayForm(FlaskForm):
    person = PersonField(_l("Who is away (user name; administrators only, empty: me)"),
                         validators=[Optional(), Length(max=60)])
    deputy = PersonField(_l("Deputy (user name)"), validators=[DataRequired(), Length(max=60)])
    starts_at = DateTimeLocalField(_l("From"), validators=[InputRequired()])
    ends_at = DateTimeLocalField(_l("Until"), validators=[InputRequired()])
    processes = SelectMultipleField(_l("Processes (none: all)"), validate_choice=False)

    def period(self):
        """The period in company time (what the page's fields mean)."""
        return (self.starts_at.data.replace(tzinfo=COMPANY_TZ), self.ends_at.data.replace(tzinfo=COMPANY_TZ))
