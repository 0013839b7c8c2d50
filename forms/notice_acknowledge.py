from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length


class NoticeAcknowledgeForm(FlaskForm):
    """An escalation notice in someone's inbox (a step is overdue): read it, optionally say what
    you will do."""

    comment = TextAreaField(_l("Comment"), validators=[Length(max=1000)],
                            description=_l("Optional: what you will do about it."))
