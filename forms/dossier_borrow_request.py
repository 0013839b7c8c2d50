from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app import db
from app.domain.customers import Customer
from app.domain.org import OrgUnit


class DossierBorrowRequestForm(FlaskForm):
    """Start form of `dossier_borrowing`: which dossier, why, for how long."""

    # Any customer id is accepted here; the borrowing rules (app.domain.borrowing) judge it.
    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False, validators=[InputRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(), Length(min=4, max=500)],
                            description=_l("Why you need the dossier; the approvers read this."))
    days = IntegerField(_l("Days"), validators=[InputRequired(), NumberRange(min=1, max=30)],
                        default=7, description=_l("How long you need to read it: 1 to 30 days."))

    def fill_choices(self, user):
        self.customer_id.choices = customer_choices()


def customer_choices() -> list[SelectChoice]:
    """Every customer, grouped by territory, for a page's customer field."""
    customers = db.session.execute(
        select(Customer.id, Customer.code, Customer.name, OrgUnit.name.label("territory"))
        .join(OrgUnit, Customer.territory_id == OrgUnit.id).order_by(Customer.code)).all()
    return [SelectChoice(c.id, f"{c.code} {c.name}", optgroup=c.territory) for c in customers]
