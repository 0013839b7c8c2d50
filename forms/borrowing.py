"""The forms of `dossier_borrowing`: the request, and each level's consent."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from forms.common import ConsentForm, customer_choices, customer_field


class DossierBorrowRequestForm(FlaskForm):
    """Start form: which dossier, why, for how long."""

    # Any customer id is accepted here; the borrowing rules (app.domain.borrowing) judge it.
    customer_id = customer_field()
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(min=4, max=500)],
                            description=_l("Why you need the dossier; the approvers read this."))
    days = IntegerField(_l("Days"), validators=[InputRequired(), NumberRange(min=1, max=30)],
                        default=7, description=_l("How long you need to read it: 1 to 30 days."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices(user, leave_out_reach=True)  # he reads those already


class DossierConsentForm(ConsentForm):
    """Each consent level: consent or refuse, with a comment."""

    batch_approval = True  # the inbox may consent to several at once with one comment


FORMS = {
    "dossier_borrow_request": DossierBorrowRequestForm,
    "dossier_consent": DossierConsentForm,
}
