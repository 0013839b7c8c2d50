"""The forms of `dossier_borrowing`: the request, and each level's consent."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from forms.common import customer_choices


class DossierBorrowRequestForm(FlaskForm):
    """Start form: which dossier, why, for how long."""

    # Any customer id is accepted here; the borrowing rules (app.domain.borrowing) judge it.
    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False, validators=[InputRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(min=4, max=500)],
                            description=_l("Why you need the dossier; the approvers read this."))
    days = IntegerField(_l("Days"), validators=[InputRequired(), NumberRange(min=1, max=30)],
                        default=7, description=_l("How long you need to read it: 1 to 30 days."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices()


class DossierConsentForm(FlaskForm):
    """Each consent level: consent or refuse, with a comment."""

    batch_approval = True  # the inbox may consent to several at once with one comment

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve", _l("Consent")), SelectChoice("reject", _l("Refuse"))],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def validate_comment(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("A refusal needs a comment: the requester is told why."))


FORMS = {
    "dossier_borrow_request": DossierBorrowRequestForm,
    "dossier_consent": DossierConsentForm,
}
