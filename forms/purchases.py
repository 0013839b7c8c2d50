"""The forms of purchase records: one order entered by the branch (page and API), and a file of orders
from the sales system (the page's upload). The rules an order keeps are the domain's
(app.domain.purchases.check), the same for a row of a file; these read what was typed."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, DecimalField, SelectField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.domain import purchases

YES, NO = "yes", "no"


class PurchaseRecordForm(FlaskForm):
    """An order as the sales system exports it: customer, product, tons, amount, order date, and its
    actual delivery (date, quantity delivered, on time or not) once it happened."""

    customer_code = StringField(_l("Customer code"), validators=[DataRequired(), Length(max=30)],
                                description=_l("As in the customer list, e.g. HD-E1-001."))
    product = StringField(_l("Product"), validators=[DataRequired(), Length(max=80)])
    quantity_tons = DecimalField(_l("Tons"), places=2, validators=[InputRequired(), NumberRange(min=0)])
    amount_yuan = DecimalField(_l("Amount (yuan)"), places=2, validators=[InputRequired(), NumberRange(min=0)])
    ordered_on = DateField(_l("Order date"), validators=[InputRequired()])
    delivered_on = DateField(_l("Actual delivery date"), validators=[Optional()],
                             description=_l("Leave empty while the order is not delivered."))
    delivered_tons = DecimalField(_l("Quantity delivered (tons)"), places=2,
                                  validators=[Optional(), NumberRange(min=0)])
    on_time = SelectField(_l("On time"), choices=[SelectChoice("", _l("Not delivered yet")),
                                                  SelectChoice(YES, _l("Yes")), SelectChoice(NO, _l("No"))],
                          default="")

    def values(self) -> dict:
        return {purchases.CUSTOMER_CODE: self.customer_code.data, purchases.PRODUCT: self.product.data,
                purchases.TONS: self.quantity_tons.data, purchases.AMOUNT: self.amount_yuan.data,
                purchases.ORDERED_ON: self.ordered_on.data, purchases.DELIVERED_ON: self.delivered_on.data,
                purchases.DELIVERED_TONS: self.delivered_tons.data,
                purchases.ON_TIME: {YES: True, NO: False}.get(self.on_time.data)}


class PurchaseImportForm(FlaskForm):
    """A CSV or XLSX file from the sales system: a header row, then an order per row."""

    file = FileField(_l("File (CSV or XLSX)"),
                     description=_l("Columns: customer code, product, tons, amount (yuan), order date, actual "
                                    "delivery date, quantity delivered, on time (是/否). Every row is checked; "
                                    "nothing is imported unless every row is valid."))

    def validate_file(self, field):
        if not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose a file to import."))
