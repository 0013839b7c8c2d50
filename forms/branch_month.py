"""The start forms shared by the processes run per branch (and month), opened by the schedule or by
hand by a process administrator: which branch, which month."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Regexp

from app import db
from app.domain import org

MONTH_FIELD = dict(validators=[InputRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$",
                                                      message=_l("A month is written YYYY-MM, e.g. 2026-10."))])


class BranchForm(FlaskForm):
    branch = SelectField(_l("Branch"), validate_choice=False, validators=[InputRequired()])

    def fill_choices(self, user):
        self.branch.choices = [SelectChoice(code, name) for code, name in db.session.execute(
            select(org.OrgUnit.code, org.OrgUnit.name).where(org.OrgUnit.kind == org.BRANCH)
            .order_by(org.OrgUnit.code))]


class BranchMonthForm(BranchForm):
    month = StringField(_l("Month"), **MONTH_FIELD)
