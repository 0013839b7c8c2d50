"""Every expression and script in a BPMN or DMN definition runs here, never in plain eval/exec.

Definitions are data that process administrators edit, so their text is untrusted:
- RestrictedPython compiles it: no names or attributes starting with "_", no imports, guarded
  attribute, item and write access (its own `safer_getattr`, which also stops format-string walks);
- a few more names and attributes are refused outright (frames, format, type introspection, the
  string methods that pad to a given width);
- `*`, `**` and `<<` go through guards, so that one C-level operation cannot build huge data;
- a line budget, counted only in the definition's own frames, stops an endless loop early;
- the globals hold only the helpers documented below and the case's data, which never replaces them;
- and the hard bounds: whatever could run long (a script, an expression that calls, loops or
  computes) runs in a worker process under a wall-clock and a memory limit (app.engine.isolation),
  fed only the names it reads. Expressions that can only compare, combine and look up what the case
  holds (`decision == 'approve' and not requester_is_sales_rep`) cannot run away and stay here.
"""
from __future__ import annotations

import ast
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app import calendar
from app.calendar import clock
from app.engine.isolation import Bounded

SOURCE_NAME = "<definition>"
LINE_BUDGET = 200_000  # lines a single expression or script may execute
MAX_ITEMS = 100_000  # longest sequence or range a definition may build
MAX_BITS = 4_096  # largest integer a power or shift may produce

# Names and attributes a definition never needs and that lead out of the sandbox.
REFUSED_NAMES = frozenset({
    "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "getattr", "setattr", "delattr",
    "hasattr", "type", "object", "super", "classmethod", "staticmethod", "property", "memoryview", "input",
    "breakpoint", "help", "exit", "quit", "print", "id", "callable", "isinstance", "issubclass",
})
REFUSED_ATTRIBUTES = frozenset({
    "format", "format_map", "mro", "gi_frame", "gi_code", "cr_frame", "ag_frame", "f_back", "f_globals",
    "f_locals", "f_builtins", "tb_frame", "tb_next", "func_globals", "im_func",
    # one call builds a string of any width: 'x'.ljust(10**9)
    "ljust", "rjust", "center", "zfill", "expandtabs",
})
MAX_FORMAT_WIDTH = 1000  # widest field an f-string may pad to


class ScriptRefused(ValueError):
    """The text is not allowed in a definition; the message says where and why."""


class ScriptLimitExceeded(BaseException):
    """A definition's script ran too long or built too much. A BaseException, so that the script's own
    `except Exception` cannot swallow it."""


class _Policy(RestrictingNodeTransformer):
    def visit_Name(self, node):
        if node.id in REFUSED_NAMES:
            self.error(node, f'"{node.id}" is not allowed in a definition.')
        return super().visit_Name(node)

    def visit_Attribute(self, node):
        if node.attr in REFUSED_ATTRIBUTES:
            self.error(node, f'"{node.attr}" is not allowed in a definition.')
        return super().visit_Attribute(node)

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        guard = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}.get(type(node.op))
        if guard is None:
            return node
        function = ast.copy_location(ast.Name(id=guard, ctx=ast.Load()), node)
        return ast.copy_location(ast.Call(func=function, args=[node.left, node.right], keywords=[]), node)

    def visit_FormattedValue(self, node):
        spec = ast.unparse(node.format_spec) if node.format_spec is not None else ""
        if any(int(digits) > MAX_FORMAT_WIDTH for digits in re.findall(r"\d+", spec)):
            self.error(node, f"A format wider than {MAX_FORMAT_WIDTH} is not allowed in a definition.")
        return self.generic_visit(node)

    def visit_Import(self, node):
        self.error(node, "Imports are not allowed in a definition.")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node):
        self.error(node, "Classes are not allowed in a definition.")
        return node

    def visit_AugAssign(self, node):
        if isinstance(node.op, (ast.Mult, ast.Pow, ast.LShift)):
            self.error(node, "Use x = x * y (and the like) instead of an augmented assignment here.")
        return super().visit_AugAssign(node)


def _sized(value):
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_ITEMS:
        raise ScriptLimitExceeded(f"a definition built a sequence of more than {MAX_ITEMS} items")
    return value


def _mul(left, right):
    for sequence, times in ((left, right), (right, left)):
        if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(times, int):
            if len(sequence) * max(times, 0) > MAX_ITEMS:
                raise ScriptLimitExceeded(f"a definition built a sequence of more than {MAX_ITEMS} items")
    return left * right


def _pow(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if max(abs(base), 2).bit_length() * exponent > MAX_BITS:
            raise ScriptLimitExceeded("a definition computed a power too large")
    return base ** exponent


def _lshift(value, bits):
    if isinstance(bits, int) and bits > MAX_BITS:
        raise ScriptLimitExceeded("a definition shifted a number too far")
    return value << bits


def _range(*args):
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        raise ScriptLimitExceeded(f"a definition asked for a range of more than {MAX_ITEMS} numbers")
    return numbers


def _inplace(op, left, right):
    operations = {"+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "/=": lambda a, b: a / b,
                  "//=": lambda a, b: a // b, "%=": lambda a, b: a % b}
    if op not in operations:
        raise ScriptRefused(f"{op} is not allowed in a definition")
    return _sized(operations[op](left, right))


# -- helpers a definition may call (documented in README) ------------------------------------------

def now() -> str:
    """The current time, ISO 8601 with offset, on the application clock."""
    return clock.now().isoformat()


def day_of_month(day: int, months_ahead: int = 0) -> str:
    """00:00 Asia/Shanghai on `day` of this month (or `months_ahead` later), as ISO 8601."""
    return calendar.day_of_month(clock.now(), day, months_ahead).isoformat()


def day_after_month(month: str, day: int) -> str:
    """00:00 Asia/Shanghai on `day` of the month after `month` ("YYYY-MM"), as ISO 8601: the
    deadline of a monthly case, e.g. `day_after_month(month, 2)` for the star rating's 2nd."""
    return calendar.day_after_month(month, day).isoformat()


def days_after(moment: str, days: int) -> str:
    """`days` calendar days after an ISO 8601 moment (e.g. a complaint's `received_at`), as ISO 8601."""
    return calendar.days_after(datetime.fromisoformat(moment), days).isoformat()


def end_of_day(day: str) -> str:
    """The end of a date ("YYYY-MM-DD", company time): 00:00 Asia/Shanghai the day after, as ISO 8601."""
    return calendar.end_of_day(date.fromisoformat(day[:10])).isoformat()


def day_start(day: str) -> str:
    """The start of a date ("YYYY-MM-DD", company time): 00:00 Asia/Shanghai that day, as ISO 8601."""
    return calendar.day_start(date.fromisoformat(day[:10])).isoformat()


def working_days(days: int) -> str:
    """`days` working days from now on China's official calendar, as ISO 8601."""
    return calendar.working_days_after(clock.now(), days).isoformat()


def working_hours(hours: float) -> str:
    """`hours` office hours from now on China's official calendar, as ISO 8601."""
    return calendar.working_hours_after(clock.now(), hours).isoformat()


HELPERS = {
    "now": now, "day_of_month": day_of_month, "day_after_month": day_after_month,
    "days_after": days_after, "day_start": day_start, "end_of_day": end_of_day, "working_days": working_days,
    "working_hours": working_hours,
    "Decimal": Decimal, "datetime_from_iso": datetime.fromisoformat,
}
BUILTINS = {
    "None": None, "True": True, "False": False, "abs": abs, "all": all, "any": any, "bool": bool,
    "dict": dict, "divmod": divmod, "enumerate": enumerate, "float": float, "int": int, "len": len,
    "list": list, "max": max, "min": min, "range": _range, "reversed": reversed, "round": round, "set": set,
    "sorted": sorted, "str": str, "sum": sum, "tuple": tuple, "zip": zip,
    "Exception": Exception, "ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError,
}
GUARDS = {
    "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem, "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard, "_inplacevar_": _inplace,
    "_mul_": _mul, "_pow_": _pow, "_lshift_": _lshift,
}


@lru_cache(maxsize=4096)
def compiled_expression(text: str):
    result = compile_restricted_eval(text.strip(), filename=SOURCE_NAME, policy=_Policy)
    if result.errors:
        raise ScriptRefused("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compiled_script(text: str):
    result = compile_restricted_exec(text, filename=SOURCE_NAME, policy=_Policy)
    if result.errors:
        raise ScriptRefused("; ".join(result.errors))
    return result.code


def _run_with_budget(run):
    """Run, counting the lines executed in the definition's own frames; stop at LINE_BUDGET."""
    budget = [LINE_BUDGET]

    def count_lines(frame, event, _arg):
        if event == "line":
            budget[0] -= 1
            if budget[0] < 0:
                raise ScriptLimitExceeded(f"a definition ran more than {LINE_BUDGET} lines")
        return count_lines

    def on_call(frame, _event, _arg):
        return count_lines if frame.f_code.co_filename == SOURCE_NAME else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        return run()
    finally:
        sys.settrace(previous)


def _scope(context: dict, external_context: dict | None, helpers: dict) -> dict:
    """The globals of one evaluation: the case's data, then the sandbox's own names, which data never
    replaces (a start form's `__builtins__` or `_getattr_` is just ignored)."""
    return {**(external_context or {}), **context, "__builtins__": BUILTINS, **GUARDS, **helpers}


def evaluate_here(expression: str, context: dict, external_context: dict | None, helpers: dict):
    """Evaluate in this process (only for what cannot run away, or inside a worker)."""
    code = compiled_expression(expression)
    scope = _scope(context, external_context, helpers)
    return _sized(_run_with_budget(lambda: eval(code, scope)))  # noqa: S307 (restricted code)


def execute_here(script: str, context: dict, external_context: dict | None, helpers: dict) -> None:
    """Run a script in this process, changing `context` as the script changed its names."""
    code = compiled_script(script)
    scope = _scope(context, external_context, helpers)
    _run_with_budget(lambda: exec(code, scope))  # noqa: S102 (restricted code)
    fixed = {"__builtins__", *GUARDS, *helpers, *(external_context or {})}
    for name in list(context):
        if name not in scope:
            del context[name]  # the script deleted it
    context.update({name: value for name, value in scope.items()
                    if name not in fixed and not name.startswith("_") and not callable(value)})


# What an expression may do and still be evaluated in the parent process: compare, combine and look up
# the case's values, without calls, loops, comprehensions, arithmetic or formatting.
_BOUNDED_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
                  ast.Compare, ast.cmpop, ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Tuple, ast.List,
                  ast.Set, ast.IfExp)


@lru_cache(maxsize=4096)
def cannot_run_away(expression: str) -> bool:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(isinstance(node, _BOUNDED_NODES) for node in ast.walk(tree))


@lru_cache(maxsize=4096)
def names_read(text: str, expression: bool) -> frozenset[str]:
    """The names a definition's text refers to: all of the case's data it may see."""
    tree = ast.parse(text.strip() if expression else text, mode="eval" if expression else "exec")
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, restricted: used for conditions, scripts, timers, DMN.
    Definitions may call HELPERS and the helpers the application plugs in (`helpers`). Given
    `evaluators`, what could run away runs there, under the hard bounds; without (tests of the
    restricted language itself), everything runs here."""

    def __init__(self, helpers: dict | None = None, evaluators=None):
        super().__init__()
        self.plugged = dict(helpers or {})
        self.helpers = {**HELPERS, **self.plugged}
        self.evaluators = evaluators

    def evaluate(self, expression, context, external_context=None):
        if self.evaluators is None or cannot_run_away(expression):
            return evaluate_here(expression, context, external_context, self.helpers)
        compiled_expression(expression)  # refused text is refused here, as before, not in a worker
        reply = self._isolated("evaluate", expression, True, context, external_context)
        return reply["value"]

    def execute(self, script, context, external_context=None):
        if self.evaluators is None:
            execute_here(script, context, external_context, self.helpers)
            return True
        compiled_script(script)
        reply = self._isolated("execute", script, False, context, external_context)
        for name in reply["deleted"]:
            context.pop(name, None)
        context.update(reply["context"])
        return True

    def _isolated(self, operation: str, text: str, expression: bool, context: dict, external_context):
        read = names_read(text, expression)
        try:
            reply = self.evaluators.run({
                "op": operation, "text": text, "now": clock.now().isoformat(),
                "context": {name: value for name, value in context.items() if name in read},
                "external": {name: value for name, value in (external_context or {}).items() if name in read}})
        except Bounded as exc:
            raise ScriptLimitExceeded(str(exc)) from None
        if "error" in reply:
            raise _error(reply["error"], reply["message"])
        return reply

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are run by the case script engine (app.engine.unit_of_work)")


# Errors a definition's text raises, as the worker names them: the same type here (a ZeroDivisionError
# stays one in the incident), anything else as a RuntimeError naming it.
_ERRORS = {error.__name__: error for error in (
    ArithmeticError, ZeroDivisionError, OverflowError, ValueError, TypeError, KeyError, IndexError, NameError,
    AttributeError, LookupError, UnicodeError, ScriptRefused, AssertionError, RecursionError)}


def _error(name: str, message: str) -> Exception:
    kind = _ERRORS.get(name)
    return kind(message) if kind else RuntimeError(f"{name}: {message}")


def check(text: str, expression: bool = True) -> str | None:
    """Why `text` is refused in a definition, or None when it compiles under the sandbox."""
    try:
        (compiled_expression if expression else compiled_script)(text)
    except (ScriptRefused, SyntaxError) as exc:
        return str(exc)
    return None
