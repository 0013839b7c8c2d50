"""The forms of `lead_development` (the market information and candidate, and each stage's decision), of
the daily `lead_contact_reminders`, and the contact log's entry and the branch's rhythm of contacts.

No person's form sends the decision `converted`: the first order does (app.domain.leads.first_orders)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app import labels
from app.domain import leads
from forms.common import WITHIN_A_YEAR, BranchForm, Dated, choice

MOBILE = Regexp(r"^1\d{10}$", message=_l("A mobile number is 11 digits beginning with 1."))


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


class LeadStartForm(FlaskForm):
    """Start form: 市场信息采集 (where the information came from, what was learned) and 收集拟似客户 (the
    candidate), by the rep of the territory."""

    territory = choice(_l("Territory"), validate_choice=False,
                       description=_l("Your territory: the lead and, later, the dossier belong to it."))
    source = choice(_l("Source of the information"),
                    choices=[SelectChoice(key, words) for key, words in leads.SOURCE_WORDS.items()])
    learned = TextAreaField(_l("What was learned"), validators=[DataRequired(), Length(max=4000)],
                            description=_l("The market information: the candidate's business, its needs, its "
                                           "present supplier, why it could become a key customer."))
    name = StringField(_l("Candidate's name"), filters=[_stripped], validators=[DataRequired(), Length(max=120)])
    kind = RadioField(_l("Kind"), choices=labels.choices(labels.CUSTOMER_KINDS), validators=[InputRequired()])
    address = StringField(_l("Address"), filters=[_stripped], validators=[Length(max=200)])
    contact1_name = StringField(_l("First contact"), filters=[_stripped], validators=[DataRequired(), Length(max=60)])
    contact1_mobile = StringField(_l("First contact's mobile"), filters=[_stripped],
                                  validators=[Optional(), MOBILE])
    contact2_name = StringField(_l("Second contact"), filters=[_stripped], validators=[Length(max=60)])
    contact2_mobile = StringField(_l("Second contact's mobile"), filters=[_stripped], validators=[Optional(), MOBILE])
    other_contacts = StringField(_l("Other contacts"), validators=[Length(max=200)])
    expected_monthly_tons = DecimalField(_l("Expected monthly demand (tons)"), places=2,
                                         validators=[InputRequired(), NumberRange(min=0, max=1_000_000)])
    main_products = StringField(_l("Main products"), validators=[Length(max=200)])
    downstream_market = StringField(_l("Downstream market"), validators=[Length(max=200)])

    def fill_choices(self, user):
        self.territory.choices = [SelectChoice(t.code, t.name) for t in leads.territories_of(user)]
        if len(self.territory.choices) == 1 and not self.territory.data:
            self.territory.data = self.territory.choices[0].value


class _StageDecision(FlaskForm):
    """A stage's decision: its choices (the first goes on, the last drops the lead), and a comment that
    dropping needs."""

    CHOICES: list = []
    comment_needed = _l("Say why the lead is dropped: it is kept with the case.")

    decision = RadioField(_l("Decision"), validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = list(self.CHOICES)

    def validate_comment(self, field):
        if self.decision.data == "drop" and not (field.data or "").strip():
            raise ValidationError(self.comment_needed)


class LeadScreenForm(_StageDecision):
    """The rep screens his candidate against the key-customer conditions (seed 001 §8.1)."""

    CHOICES = [SelectChoice("propose", _l("It meets the key-customer conditions and has no business with us: "
                                          "propose it as a potential customer")),
               SelectChoice("drop", _l("Drop the candidate"))]


class LeadConfirmForm(_StageDecision):
    """The branch's sales manager confirms the potential customer (its dossier is then created)."""

    CHOICES = [SelectChoice("approve", _l("Confirm as a potential customer: create its dossier")),
               SelectChoice("drop", _l("Drop the candidate"))]


class LeadDevelopForm(_StageDecision):
    """The rep develops the potential customer (contacts are logged on its dossier) and proposes it as a
    target when it is ready."""

    CHOICES = [SelectChoice("propose_target", _l("Propose it as a target customer")),
               SelectChoice("drop", _l("Drop the potential customer"))]


class LeadChooseTargetForm(_StageDecision):
    """The branch's sales manager chooses the target customers (选择目标客户)."""

    CHOICES = [SelectChoice("approve", _l("Choose it as a target customer")),
               SelectChoice("develop", _l("Not yet: develop it further")),
               SelectChoice("drop", _l("Drop the potential customer"))]

    def validate_comment(self, field):
        super().validate_comment(field)
        if self.decision.data == "develop" and not (field.data or "").strip():
            raise ValidationError(_l("Say what the rep should work on."))


class LeadTargetForm(_StageDecision):
    """The target waits for its first order, which completes this step by itself; the rep may drop it."""

    CHOICES = [SelectChoice("drop", _l("Drop the target customer"))]


class LeadRemindersStartForm(BranchForm):
    """A process administrator opens one branch's reminders by hand (the schedule does so every morning)."""

    day = StringField(_l("Day"), validators=[Optional()], description=_l("YYYY-MM-DD; empty: today."))


class ContactForm(FlaskForm):
    """A contact with a potential customer (seed 001 §8.3)."""

    kind = RadioField(_l("Kind of contact"),
                      choices=[SelectChoice(key, words) for key, words in leads.CONTACT_WORDS.items()],
                      validators=[InputRequired()])
    contacted_on = DateField(_l("Day of the contact"), validators=[
        InputRequired(), Dated(lambda day, today: day <= today, _l("A contact is logged once it has happened.")),
        WITHIN_A_YEAR])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=leads.NOTES_MAX)],
                          description=_l("What was said, sent or agreed."))

    def values(self) -> dict:
        return {"kind": self.kind.data, "contacted_on": self.contacted_on.data, "notes": self.notes.data or ""}


class RhythmForm(FlaskForm):
    """The branch's rhythm: how many days may pass between two contacts with a potential customer."""

    branch = choice(_l("Branch"), validate_choice=False)
    days = IntegerField(_l("Days between contacts"), validators=[InputRequired(), NumberRange(*leads.RHYTHM_BOUNDS)],
                        default=leads.DEFAULT_RHYTHM_DAYS)


FORMS = {
    "lead_development_start": LeadStartForm,
    "lead_screen": LeadScreenForm,
    "lead_confirm": LeadConfirmForm,
    "lead_develop": LeadDevelopForm,
    "lead_choose_target": LeadChooseTargetForm,
    "lead_target": LeadTargetForm,
    "lead_contact_reminders_start": LeadRemindersStartForm,
}
