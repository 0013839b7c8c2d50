"""A decision that approves, or returns the case with a comment saying what must change: the words of
the two choices and of the missing comment are each form's own."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length


class ApproveOrReturnForm(FlaskForm):
    approve_label = _l("Approve")
    return_label = _l("Return")
    comment_needed = _l("Say what must change.")

    decision = RadioField(_l("Decision"), choices=[SelectChoice("approve"), SelectChoice("return")],
                          validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [SelectChoice("approve", self.approve_label),
                                 SelectChoice("return", self.return_label)]

    def validate_comment(self, field):
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(self.comment_needed)
