"""Plugging the flows in: every `Flow` declared in the packages named by FLOW_PACKAGES (app.domain, and
whatever a deployment or a test adds), their forms, and the company-wide parts (who may do what, how
people are told, segregation of duties, deputies) become the engine's extensions. Nothing here lists a
flow: adding one is adding its files."""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable

import forms
import forms.common
import forms.drawn
from app import labels
from app.domain import delegation, notifications, segregation
from app.engine import deployment, standard
from app.engine.plugins import Extensions, Flow
from app.policy import Policy


def discover(packages: Iterable[str]) -> list[Flow]:
    """The flows declared at module level in these packages (and their modules), in module order."""
    found: list[Flow] = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        modules = [package] + [importlib.import_module(f"{package_name}.{info.name}")
                               for info in pkgutil.iter_modules(getattr(package, "__path__", []))]
        for module in modules:
            found += [value for value in vars(module).values()
                      if isinstance(value, Flow) and all(value is not flow for flow in found)]
    return found


def plug_in(packages: Iterable[str], *, mail: Callable[[], bool]) -> tuple[Extensions, Policy, list[Flow]]:
    """The engine's extensions filled from the flows of `packages`, the policy that answers for them,
    and the flows (`mail()`: whether notifications go out by e-mail too, as the configuration says now)."""
    flows = [standard.STANDARD, *discover(packages)]
    extensions = Extensions()
    extensions.add_all(flows)
    forms.register(forms.common.FORMS)
    for flow in flows:
        if flow.forms:
            forms.register(importlib.import_module(flow.forms).FORMS)
        labels.add_words(flow)
    extensions.forms, extensions.validate = forms.FORMS, forms.validated
    extensions.drawn_forms = forms.drawn  # its problems(schema) and keys(schema): what a deploy asks
    extensions.declared = deployment.declared_process  # processes declared from the administration pages
    policy = Policy(extensions)
    extensions.permission = policy.why_not
    extensions.notify = lambda *args, **kwargs: notifications.notify(*args, mail=mail(), **kwargs)
    extensions.duties = segregation.Duties()
    extensions.deputy_for = delegation.deputy_for
    return extensions, policy, flows
