"""The expense claim's forms: the claim, and the approver's decision."""
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class ExpenseClaimForm(FlaskForm):
    amount = DecimalField("Amount (yuan)", places=2, validators=[InputRequired(), NumberRange(min=0.01)])
    purpose = TextAreaField("What it was for", validators=[DataRequired(), Length(max=500)])


class ExpenseDecisionForm(FlaskForm):
    batch_approval = True
    decision = RadioField("Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Refuse")],
                          validators=[InputRequired()])
    comment = TextAreaField("Comment", validators=[Length(max=500)])


FORMS = {"expense_claim": ExpenseClaimForm, "expense_decision": ExpenseDecisionForm}
