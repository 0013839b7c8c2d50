from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length


class SignerOpinionForm(FlaskForm):
    """An added signer's opinion (加签) on a consent or approval step: agree or not, with a comment."""

    decision = RadioField(_l("Opinion"), choices=[SelectChoice("approve", _l("Agree")),
                                                  SelectChoice("reject", _l("Disagree"))],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def validate_comment(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Say why you disagree: the approver reads it."))
