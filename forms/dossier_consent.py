from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length


class DossierConsentForm(FlaskForm):
    """Each consent level of `dossier_borrowing`: consent or refuse, with a comment."""

    batch_approval = True  # the inbox may consent to several at once with one comment

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve", _l("Consent")), SelectChoice("reject", _l("Refuse"))],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def validate_comment(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("A refusal needs a comment: the requester is told why."))
