"""The forms of `warning_totals`: a branch's month opened by hand, and the general manager's level's
measures against broken totals and their follow-up, each showing the month's figures (from the case)."""
from app.domain import warning_totals
from forms.common import BranchMonthForm
from forms.early_warning import WarningFollowUpForm, WarningMeasuresForm


class WarningTotalsStartForm(BranchMonthForm):
    """Start form: a process administrator opens a branch's totals of a month by hand."""


class _ShowsTotals:
    template = "forms/warning_totals.html"
    indicator_words = warning_totals.INDICATORS

    def for_task(self, task):
        self.totals = warning_totals.listed_totals(task.instance_id)
        return self

    def context(self) -> dict:
        return {"totals": self.totals}


class WarningTotalsMeasuresForm(_ShowsTotals, WarningMeasuresForm):
    """The measures against the branch's broken totals, and the day they are followed up."""


class WarningTotalsFollowUpForm(_ShowsTotals, WarningFollowUpForm):
    """On the follow-up day: did the measures work? If not, new measures follow."""


FORMS = {
    "warning_totals_start": WarningTotalsStartForm,
    "warning_totals_measures": WarningTotalsMeasuresForm,
    "warning_totals_follow_up": WarningTotalsFollowUpForm,
}
