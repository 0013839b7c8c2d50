"""The rep's judgement of a customer's attitude (seed 002 "按客户对待产品的态度"), a page of the dossier and
an API call: one of the attitudes, with his reason."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from app.domain import classes


class AttitudeForm(FlaskForm):
    attitude = RadioField(_l("Attitude"), choices=[SelectChoice(value, words) for value, words in classes.ATTITUDES.items()],
                          validators=[InputRequired(message=_l("Choose one."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)],
                           description=_l("What you saw that tells it: orders placed elsewhere, price questions, "
                                          "what the customer said. The dossier keeps it with the day."))
