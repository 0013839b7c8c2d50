"""The forms of `star_rating`: opening a case by hand, the rating sheet (branch and HQ second round),
the reviews, and the branch's confirmation that its customers were told.

The sheet's rows come from the case (app.domain.star_rating.sheet), never from what is posted:
`for_task` binds a form to its task, and validation checks the posted ratings against the rows.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation
from wtforms.widgets import HiddenInput

from app.domain import star_rating as rating
from forms.common import MONTH_FIELD, ApproveOrReturnForm, BranchMonthForm

STAR_CHOICES = [SelectChoice(stars, "★" * stars) for stars in rating.STARS]


class StarRatingStartForm(BranchMonthForm):
    """Start form: a process administrator opens the rating of one branch for one month."""

    month = StringField(_l("Month rated"), description=_l("YYYY-MM. The schedule opens last month's rating on the 1st by itself."),
                        **MONTH_FIELD)


class RatingRow(Form):
    customer_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    stars = SelectField(_l("Stars"), coerce=int, choices=STAR_CHOICES, validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[Length(max=500)])


class _SheetForm(FlaskForm):
    """A sheet of customers to rate. Subclasses say which rows, and which star a change is measured
    against (a change needs a reason)."""

    template = "forms/star_rating_sheet.html"
    ratings = FieldList(FormField(RatingRow), _l("Rating sheet"), min_entries=0, max_entries=5000)

    reference_label = guidance = ""

    def rows(self, task) -> list:
        raise NotImplementedError

    def reference(self, row) -> int:
        raise NotImplementedError

    def reference_reason(self, row) -> str:
        return ""

    def current(self, row) -> tuple[int, str]:
        raise NotImplementedError

    def for_task(self, task):
        self.lines = self.rows(task)
        self.line_by_customer = {line.customer_id: line for line in self.lines}
        if not self.is_submitted():
            for line in self.lines:
                stars, reason = self.current(line)
                self.ratings.append_entry({"customer_id": line.customer_id, "stars": stars, "reason": reason})
        return self

    def context(self) -> dict:
        return {"sheet": [sheet_line(line) for line in self.lines]}

    def row_name(self, entry) -> str:
        line = self.line_by_customer.get(entry.customer_id.data)
        return f"{line.customer.code} {line.customer.name}" if line else str(entry.customer_id.data)

    def validate_ratings(self, field):
        problems = []
        seen = set()
        for entry in field.entries:
            line = self.line_by_customer.get(entry.customer_id.data)
            if line is None or entry.customer_id.data in seen:
                problems.append(_l("Customer %(id)s is not on this sheet, or is rated twice.",
                                   id=entry.customer_id.data))
                continue
            seen.add(line.customer_id)
            if entry.stars.data != self.reference(line) and not (entry.reason.data or "").strip():
                message = _l("%(code)s: a star other than %(stars)s needs a reason.",
                             code=line.customer.code, stars=self.reference(line))
                entry.reason.errors = [*entry.reason.errors, message]
                problems.append(message)
        missing = [line.customer.code for line in self.lines if line.customer_id not in seen]
        if missing:
            problems.append(_l("Every customer on the sheet needs a rating; missing: %(codes)s.",
                               codes=", ".join(missing)))
        if problems:
            field.errors.extend(problems)
            raise StopValidation()


class StarRatingSheetForm(_SheetForm):
    """The branch's initial rating (and its revision after a return): every customer of the branch;
    changing the suggestion needs a reason."""

    reference_label = _l("Suggested")
    guidance = _l("Last month's purchases, from the purchase records. Confirm or change each suggested "
                  "star; a change needs a reason. 1–2 stars go to HQ marketing for review, 3–4 stars to "
                  "HQ marketing's second rating and company leadership.")

    def rows(self, task):
        return rating.sheet(task.instance_id)

    def reference(self, row):
        return row.suggested_stars

    def current(self, row):
        if row.initial_stars is None:
            return row.suggested_stars, ""
        return row.initial_stars, row.initial_reason


class StarSecondRatingForm(_SheetForm):
    """HQ marketing's second rating: the customers the branch gave 3 or 4 stars; any change of the
    branch's star needs a reason."""

    reference_label = _l("Branch")
    guidance = _l("The customers the branch rated 3 or 4 stars. Keep or change each star; a change "
                  "needs a reason. Company leadership approves the result.")

    def rows(self, task):
        return rating.sheet(task.instance_id, rating.HIGH)

    def reference(self, row):
        return row.initial_stars

    def reference_reason(self, row):
        return row.initial_reason

    def current(self, row):
        if row.second_round_stars is None:
            return row.initial_stars, ""
        return row.second_round_stars, row.second_round_reason


class _ShowsSheet(FlaskForm):
    """A decision about the sheet (or a part of it), which the page shows read-only above the fields."""

    template = "forms/star_rating_review.html"
    part: tuple[int, ...] | None = None  # None: the whole sheet

    def for_task(self, task):
        self.lines = rating.sheet(task.instance_id, self.part)
        return self

    def context(self) -> dict:
        return {"sheet": [sheet_line(line) for line in self.lines]}


class _ReviewForm(_ShowsSheet, ApproveOrReturnForm):
    """Approve a part of the sheet, or return it with a comment."""

    comment_needed = _l("Say what must change: the comment goes with the returned sheet.")


class StarLowReviewForm(_ReviewForm):
    """HQ marketing reviews the 1–2 star ratings; a return sends the whole sheet back to the branch."""

    part = rating.LOW


class StarHighApprovalForm(_ReviewForm):
    """Company leadership approves HQ's second rating of the 3–4 star customers, or returns it to HQ."""

    part = rating.HIGH


class StarRatingInformForm(_ShowsSheet):
    """The branch confirms that its customers were told their stars."""

    informed = BooleanField(_l("Our customers have been told their stars for the month"),
                            validators=[DataRequired(_l("Confirm once the customers have been told."))])
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)],
                         description=_l("How they were told, anything a customer said."))


def sheet_line(line) -> dict:
    """A sheet row for API clients."""
    return {"customer_id": line.customer_id, "code": line.customer.code, "name": line.customer.name,
            "volume_tons": str(line.volume_tons), "amount_yuan": str(line.amount_yuan),
            "suggested_stars": line.suggested_stars, "initial_stars": line.initial_stars,
            "initial_reason": line.initial_reason, "second_round_stars": line.second_round_stars,
            "second_round_reason": line.second_round_reason, "stars": line.stars}


FORMS = {
    "star_rating_start": StarRatingStartForm,
    "star_rating_sheet": StarRatingSheetForm,
    "star_second_rating": StarSecondRatingForm,
    "star_low_review": StarLowReviewForm,
    "star_high_approval": StarHighApprovalForm,
    "star_rating_inform": StarRatingInformForm,
}
