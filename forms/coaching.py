"""The forms of `one_star_coaching`: opening a customer's coaching by hand, the rep's coaching (what he
explained, what the customer will do, a day next month to follow up) and his follow-up (did the customer
do what it said), shown the next month's stars beside the one star.

Both steps are bound to their case (`for_task`): the month coached and the stars shown come from the
case and from StarRating, never from what is posted.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, StringField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from app.domain import coaching
from forms.common import MONTH_FIELD, customer_choices, customer_field, today


class OneStarCoachingStartForm(FlaskForm):
    """Start form: a process administrator opens the coaching of one customer rated one star for a month
    (the schedule opens them every day by itself)."""

    customer_id = customer_field()
    month = StringField(_l("Month rated"), description=_l(
        "YYYY-MM: a month whose final rating gave the customer one star."), **MONTH_FIELD)

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices(user)


def _stars(count) -> str:
    return "★" * count if count else ""


class _BoundToCase(FlaskForm):
    def for_task(self, task):
        self.case_data = task.instance.start_data or {}
        return self


class OneStarCoachingForm(_BoundToCase):
    """The rep's coaching: what he explained, what the customer will do, and the day next month he
    follows up (when the next month's stars are known)."""

    explained = TextAreaField(_l("What you explained to the customer"), validators=[
        DataRequired(message=_l("Say what you explained to the customer.")), Length(max=coaching.TEXT_MAX)],
        description=_l("Why it was rated one star, what two stars or more bring it, and how to get there."))
    commitments = TextAreaField(_l("What the customer will do"), validators=[
        DataRequired(message=_l("Say what the customer will do.")), Length(max=coaching.TEXT_MAX)],
        description=_l("What the customer committed to before the follow-up."))
    follow_up_on = DateField(_l("Follow up on"), validators=[InputRequired(message=_l("Give a date."))])

    def for_task(self, task):
        super().for_task(task)
        self.first, following = coaching.follow_up_month(today())
        self.last = following - timedelta(days=1)
        self.follow_up_on.description = _l("A day next month (%(first)s to %(last)s): you then record whether "
                                           "the customer did what it said.", first=self.first, last=self.last)
        return self

    def validate_follow_up_on(self, field):
        first, last = getattr(self, "first", None), getattr(self, "last", None)
        if field.data is not None and first is not None and not (first <= field.data <= last):
            raise ValidationError(_l("The follow-up is next month: a day from %(first)s to %(last)s.",
                                     first=first, last=last))

    def context(self) -> dict:
        data = self.case_data
        return {"customer_code": data.get("customer_code"), "customer_name": data.get("customer_name"),
                "month": data.get("month"), "stars": coaching.ONE_STAR,
                "follow_up_from": self.first.isoformat(), "follow_up_until": self.last.isoformat()}


class OneStarFollowUpForm(_BoundToCase):
    """The follow-up: did the customer do what it said, and what the rep found; shown the next month's
    stars beside the one star."""

    kept = RadioField(_l("Did the customer do what it said?"), validators=[InputRequired(message=_l("Choose one."))],
                      choices=[SelectChoice(value, words) for value, words in coaching.PROMISE_KEPT.items()])
    note = TextAreaField(_l("What you found"), validators=[
        DataRequired(message=_l("Say what you found at the follow-up.")), Length(max=coaching.TEXT_MAX)])

    def for_task(self, task):
        super().for_task(task)
        self.record = coaching.of_case(task.instance_id)
        self.shown = coaching.comparison(self.case_data["customer_id"], self.case_data["month"])
        if self.record is not None:
            self.kept.description = _l("It said it would: %(commitments)s", commitments=self.record.commitments)
        shown = self.shown
        if shown["next_final"]:
            stars = _l("%(next_month)s: %(next)s (final). %(month)s: %(stars)s.", next_month=shown["next_month"],
                       next=_stars(shown["next_stars"]), month=shown["month"], stars=_stars(shown["stars"]))
        elif shown["next_proposed_stars"]:
            stars = _l("%(next_month)s: %(next)s proposed, not approved yet. %(month)s: %(stars)s.",
                       next_month=shown["next_month"], next=_stars(shown["next_proposed_stars"]),
                       month=shown["month"], stars=_stars(shown["stars"]))
        else:
            stars = _l("%(next_month)s: not rated yet. %(month)s: %(stars)s.", next_month=shown["next_month"],
                       month=shown["month"], stars=_stars(shown["stars"]))
        self.note.description = stars
        return self

    def context(self) -> dict:
        record = self.record
        return {"coaching": None if record is None else {
            "explained": record.explained, "commitments": record.commitments,
            "follow_up_on": record.follow_up_on.isoformat(), "coached_by": record.rep.display_name,
            "coached_at": record.coached_at.isoformat()},
            "stars": self.shown}


FORMS = {
    "one_star_coaching_start": OneStarCoachingStartForm,
    "one_star_coaching": OneStarCoachingForm,
    "one_star_follow_up": OneStarFollowUpForm,
}
