"""What deploying checks: a definition names only what the application plugged in (assignment rules,
form keys, service topics, a scheduled process's starts), its due dates and schedule parse, all its
expressions and scripts, decision tables included (of service tasks and business rule tasks), compile
under the sandbox and are no longer than MAX_EXPRESSION_CHARS, and every element can be reached. Nothing
may run without end at once: no cycle of sequence flows without a person, a message or a timer on it, no
call activity that comes back to its own process, no timer cycle that takes no time. Any problem refuses
the whole file; each problem names its element, so the modeler can select it."""
import ast
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import timedelta

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import DEFAULT_NSMAP
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin

from app.engine import sandbox, schedules
from app.engine.definitions import BPMN_NS, Problem, form_keys
from app.engine.due_dates import is_literal
from app.engine.models import ProcessDefinition
from app.engine.parser import CAMUNDA_MODEL_NS, ApprovalUserTask, TopicServiceTask
from app.engine.plugins import DRAWN_FORM_PREFIX, Extensions, drawn_form_id, group_rules


def definition_problems(ext: Extensions, specs, start_form_key: str | None = None, schedule: str | None = None,
                        process=None, trial=None, forms: Mapping[str, dict] | None = None) -> list[Problem]:
    """What in a process (and its subprocesses) the application cannot run: unknown rules, form keys,
    services, schedules, bad due dates, expressions the sandbox refuses, and (given the process's XML
    element) elements no path reaches, loops nothing waits on, calls that come back to their process; what
    the flow's own rules require of any version of it (Process.check); drawn forms (`forms`, {form id:
    schema}, those offered to the deploy) a step names but that are not given or that cannot be deployed,
    and, in a process drawn throughout, conditions naming a field no form has (`_condition_field_problems`);
    and, given `trial` (a sandbox environment under the hard bounds), expressions and scripts that hit a
    bound when tried once."""
    specs = list({spec.name: spec for spec in specs}.values())  # a process calling itself is among its own
    forms = forms or {}
    problems = []
    declared = ext.processes.get(specs[0].name)
    if declared is not None and declared.check is not None:
        problems += declared.check(specs)
    if start_form_key is not None and drawn_form_id(start_form_key) is not None:
        problems += [Problem(_start_event(process, start_form_key), f"start event: {p}")
                     for p in _form_key_problems(ext, start_form_key, forms)]
    elif start_form_key is not None and start_form_key not in ext.forms:
        problems.append(Problem(None, f"start event: unknown form key {start_form_key!r}"))
    if schedule is not None:
        problems += [Problem(None, p) for p in _schedule_problems(ext, specs[0].name, schedule)]
    if process is not None:
        problems += [Problem(name, "cannot be reached from the start event") for name in _unreachable(process, specs)]
        called = {spec.name for spec in specs} - {process.get("id")}
        for one in (process, *(other for other in process.getparent().iterfind(f"{{{BPMN_NS}}}process")
                               if other.get("id") in called)):
            problems += _loop_problems(one)
    problems += _call_cycle_problems(specs)
    if process is not None:
        problems += _condition_field_problems(ext, specs, start_form_key, forms, process)
    for task_spec in (task_spec for spec in specs for task_spec in spec.task_specs.values()):
        found = _expression_problems(task_spec)
        if isinstance(task_spec, ApprovalUserTask):
            found += _user_task_problems(ext, task_spec, forms)
        elif isinstance(task_spec, BusinessRuleTaskMixin):
            found += _decision_problems(getattr(task_spec, "decision_id", None), task_spec.dmnEngine)
        elif isinstance(task_spec, TopicServiceTask):
            if task_spec.topic not in ext.services:
                found.append(f"unknown service topic {task_spec.topic!r}")
            if task_spec.decision is not None:
                found += _decision_problems(task_spec.decision_id, task_spec.decision)
            found += [f"unknown assignment rule {rule!r} in its readers"
                      for rule in group_rules(task_spec.properties.get("readers")) if ext.rule(rule) is None]
        if trial is not None and not found:
            found += _trial_problems(trial, task_spec)
        problems += [Problem(task_spec.name, p) for p in found]
    return problems


def ways_to(spec, is_target: Callable, waypoints: Mapping[str, Callable],
            may_follow: Callable | None = None) -> dict[str, set[frozenset[str]]]:
    """How the paths of a process spec from its start reach the task specs `is_target` picks: for each such
    target (by BPMN id), every set of the named `waypoints` (name: predicate on a task spec) that some path
    to it has passed. Paths follow the task specs' outputs, boundary events and loops included (a join is
    taken as reached from any one of its branches), where `may_follow(task spec, output)` allows (default:
    everywhere). A flow's `Process.check` judges by it what a path must pass (consents before a loan)."""
    found: dict[str, set[frozenset[str]]] = defaultdict(set)
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = [(spec.start, frozenset())]
    while queue:
        task_spec, passed = queue.pop()
        if (task_spec.name, passed) in seen:
            continue
        seen.add((task_spec.name, passed))
        if is_target(task_spec):
            found[task_spec.name].add(passed)
        passed |= {name for name, passes in waypoints.items() if passes(task_spec)}
        queue += [(output, passed) for output in task_spec.outputs
                  if may_follow is None or may_follow(task_spec, output)]
    return found


_UNKNOWN = object()  # what a condition's part comes to when it depends on more than the facts assumed


def _value(node, facts: dict):
    """A condition's part given `facts`: names, constants, not, and, or, ==, !=, is, is not; anything else
    (and any other name) is _UNKNOWN."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return facts.get(node.id, _UNKNOWN)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = _value(node.operand, facts)
        return _UNKNOWN if operand is _UNKNOWN else not operand
    if isinstance(node, ast.BoolOp):
        values = [_value(v, facts) for v in node.values]
        known = [bool(v) for v in values if v is not _UNKNOWN]
        decisive = isinstance(node.op, ast.Or)  # a true part decides `or`, a false part `and`
        if decisive in known:
            return decisive
        return _UNKNOWN if len(known) < len(values) else not decisive
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _value(node.left, facts), _value(node.comparators[0], facts)
        if left is _UNKNOWN or right is _UNKNOWN:
            return _UNKNOWN
        compare = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
                   ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b}.get(type(node.ops[0]))
        return _UNKNOWN if compare is None else compare(left, right)
    return _UNKNOWN


def _holds_given(text: str, facts: dict) -> bool | None:
    """Whether a gateway condition holds given `facts` (name: value): True, False, or None when it depends
    on what else the case holds. The text is only read, never run."""
    if len(text or "") > MAX_EXPRESSION_CHARS:
        return None
    try:
        value = _value(ast.parse(text.strip(), mode="eval").body, facts)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return None if value is _UNKNOWN else bool(value)


def outputs_given(facts: dict) -> Callable:
    """`may_follow` for `ways_to`: which outputs of a task spec a case with these facts may take (a
    conditional flow unless its condition is false given them, a gateway's default flow unless another
    condition is true)."""
    def may_follow(task_spec, output) -> bool:
        flows = getattr(task_spec, "cond_task_specs", None)
        if not flows:
            return True
        holds = [(None if condition is None else _holds_given(condition.args[0], facts), condition, target)
                 for condition, target in flows]
        some_true = any(truth is True for truth, _condition, _target in holds)
        return any(target == output.name and (not some_true if condition is None else truth is not False)
                   for truth, condition, target in holds)
    return may_follow


FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask",
              "receiveTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway")


def _unreachable(process, specs) -> list[str]:
    """Flow nodes of the process's XML that SpiffWorkflow never reached while following the flows
    from the start (it parses only what a path leads to)."""
    parsed = {name for spec in specs for name in spec.task_specs}
    nodes = process.xpath(" | ".join(f".//bpmn:{tag}" for tag in FLOW_NODES), namespaces=DEFAULT_NSMAP)
    return sorted(node.get("id") for node in nodes if node.get("id") not in parsed)


# Where one engine step stops: a person's task, a message or signal awaited, a timer. A cycle of sequence
# flows through none of them (scripts, gateways, services, decisions, throw events only) would spin
# inside one operation for ever; a parallel gateway on it would also split without end.
WAITING_NODES = frozenset({"userTask", "manualTask", "task", "receiveTask", "intermediateCatchEvent"})
WAITING_EVENTS = frozenset({"timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                            "conditionalEventDefinition"})
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
LOOP_NODES = frozenset(FLOW_NODES) | SUBPROCESSES


def _local(node) -> str:
    return etree.QName(node).localname


def _flow_nodes(scope):
    return (node for node in scope.iter(f"{{{BPMN_NS}}}*") if node is not scope and _local(node) in LOOP_NODES)


def _waits(node, root, calling: frozenset = frozenset()) -> bool:
    """Whether an engine step may stop at this flow node (inside it, for a subprocess or a call)."""
    kind = _local(node)
    if kind in WAITING_NODES:
        return True
    if kind == "boundaryEvent":
        return any(isinstance(child.tag, str) and _local(child) in WAITING_EVENTS for child in node)
    if kind in SUBPROCESSES:
        return any(_waits(inner, root, calling) for inner in _flow_nodes(node))
    if kind == "callActivity":
        called = node.get("calledElement")
        process = next((p for p in root.iterfind(f"{{{BPMN_NS}}}process") if p.get("id") == called), None)
        if process is None or called in calling:
            return True  # an unknown or recursive call is refused on its own
        return any(_waits(inner, root, calling | {called}) for inner in _flow_nodes(process))
    return False


def _loop_problems(process) -> list[Problem]:
    """Cycles of the sequence-flow graph made only of elements an engine step runs through without
    stopping: one problem per cycle, on its first gateway (else its first element)."""
    root = process.getroottree().getroot()
    order = {}
    for node in _flow_nodes(process):
        if node.get("id") and not _waits(node, root):
            order.setdefault(node.get("id"), (len(order), _local(node)))
    successors = defaultdict(list)
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in order and target in order:
            successors[source].append(target)
    for boundary in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        host = boundary.get("attachedToRef")
        if host in order and boundary.get("id") in order:
            successors[host].append(boundary.get("id"))
    problems = []
    for component in _cycles(order, successors):
        first = min(component, key=lambda n: ("Gateway" not in order[n][1], order[n][0]))
        path = _path_back(first, component, successors)
        problems.append(Problem(first, "leads back to itself through " + " → ".join([first, *path])
                                + " with no user task, receive task, catch event or timer on the way: "
                                  "one step would run it for ever"))
    return problems


def _cycles(nodes, successors) -> list[set]:
    """The strongly connected components of a graph that hold a cycle (Tarjan's, without recursion)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(successors[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in successors[node]:
                    found.append(component)
    return found


def _path_back(start, component, successors) -> list:
    """The shortest way from `start` back to itself within its component (the elements after it)."""
    came_from, queue = {}, [start]
    while queue:
        node = queue.pop(0)
        for child in successors[node]:
            if child == start:
                path = [start]
                while node != start:
                    path.append(node)
                    node = came_from[node]
                return list(reversed(path))
            if child in component and child not in came_from:
                came_from[child] = node
                queue.append(child)
    return [start]


def _call_cycle_problems(specs) -> list[Problem]:
    """A call activity that calls its own process, directly or through other calls, would open
    subprocesses without end: refused on each call activity on such a cycle. `specs` are a process's and
    its subprocesses' (SpiffWorkflow's `get_subprocess_specs`: embedded subprocesses and called processes)."""
    calls = {spec.name: [task_spec for task_spec in spec.task_specs.values()
                         if isinstance(task_spec, SubWorkflowTask)] for spec in specs}
    problems = []
    for spec in specs:
        for call in calls[spec.name]:
            if call.spec == call.name:
                continue  # an embedded subprocess (its spec is named by its own id), not a call
            route = _route(call.spec, spec.name, calls)
            if route is None:
                continue
            if call.spec == spec.name:
                message = f"calls its own process {call.spec!r}: the calls would never end"
            else:
                message = (f"calls {call.spec!r}, which comes back here through " + " → ".join(route)
                           + ": the calls would never end")
            problems.append(Problem(call.name, message))
    return problems


def _route(start: str, goal: str, calls: dict) -> list[str] | None:
    """The processes and subprocesses from `start` to `goal` along their calls, or None."""
    came_from, queue = {start: None}, [start]
    while queue:
        name = queue.pop(0)
        if name == goal:
            route = []
            while name is not None:
                route.append(name)
                name = came_from[name]
            return list(reversed(route))
        for call in calls.get(name, ()):
            if call.spec not in came_from:
                came_from[call.spec] = name
                queue.append(call.spec)
    return None


def _schedule_problems(ext: Extensions, process_key: str, schedule: str) -> list[str]:
    longest = ProcessDefinition.schedule.type.length
    if len(schedule) > longest:
        return [f"schedule: at most {longest} characters"]
    try:
        schedules.parse(schedule)
    except schedules.ScheduleError as exc:
        return [str(exc)]
    process = ext.processes.get(process_key)
    if process is None or process.scheduled is None:
        return [f"schedule: the application does not know what cases to open for {process_key!r}"]
    return []


# A DMN input entry may be a bare comparison ("< 100") or use "?" for the input ("100 <= ? < 500").
_QUESTION_MARK = re.compile(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def _decision_problems(decision_id: str | None, decision) -> list[str]:
    """Every expression of a DMN decision table (input expressions, input and output entries) must compile
    under the sandbox; a problem names the decision and the rule."""
    table = decision.decision_table
    named = f"decision {decision_id or table.name or table.id!r}"
    problems = [f"{named}, input {column.label or column.id!r}: {problem}" for column in table.inputs
                if column.expression and (problem := _compile_problem(column.expression))]
    for rule in table.rules:
        where = f"{named}, rule {rule.row_number} ({rule.id})"
        for entry in rule.inputEntries:
            for text in (t for t in entry.lhs if t):
                text = _QUESTION_MARK.sub("dmninputexpr", text)
                if _compile_problem(text) and (problem := _compile_problem(f"dmninputexpr {text}")):
                    problems.append(f"{where}: {problem}")
        problems += [f"{where}: {problem}" for entry in rule.outputEntries
                     if getattr(entry, "text", None) and (problem := _compile_problem(entry.text))]
    return problems


# Longest expression or script a definition may hold: Python's compiler recurses over the syntax tree,
# and a condition of 200,000 terms would exhaust its stack or memory in the request that deploys it.
MAX_EXPRESSION_CHARS = 10_000


def _compile_problem(text: str, expression: bool = True) -> str | None:
    """Why `text` cannot be an expression (or a script) of a definition, or None: too long, refused by the
    sandbox, or too deeply nested for Python's compiler."""
    what = "an expression" if expression else "a script"
    if len(text) > MAX_EXPRESSION_CHARS:
        return f"{what} of {len(text)} characters is too long (at most {MAX_EXPRESSION_CHARS})"
    try:
        problem = sandbox.check(text, expression=expression)
    except (RecursionError, MemoryError):
        return f"{what} nested too deeply to compile"
    except ValueError as exc:
        problem = f"{what} that cannot be compiled: {exc}"
    # The compiler's message may quote the whole statement.
    return problem if problem is None or len(problem) <= 500 else problem[:500] + " …"


def _expressions(task_spec) -> list[str]:
    """A task spec's expressions: a gateway's conditions (SpiffWorkflow operators holding the text), a
    loop's condition and cardinality, a timer's."""
    expressions = [condition.args[0] for condition, _ in getattr(task_spec, "cond_task_specs", []) if condition]
    return expressions + [text for text in (getattr(task_spec, "condition", None),
                                            getattr(task_spec, "cardinality", None),
                                            getattr(getattr(task_spec, "event_definition", None), "expression", None))
                          if isinstance(text, str)]


def _trial_problems(trial, task_spec) -> list[str]:
    """Each expression and script that could run away, tried once on empty case data under the hard bounds:
    one that hits a bound before it even needs the case's data is a problem now, not an incident later.
    Any other failure (a name the case would hold) is the case's business."""
    texts = [(text, True) for text in _expressions(task_spec)]
    due = getattr(task_spec, "due_date", None)
    if due and not is_literal(due):
        texts.append((due, True))
    if isinstance(getattr(task_spec, "script", None), str):
        texts.append((task_spec.script, False))
    problems = []
    for text, expression in texts:
        if expression and sandbox.cannot_run_away(text):
            continue
        try:
            trial.evaluate(text, {}) if expression else trial.execute(text, {})
        except sandbox.ScriptLimitExceeded as exc:
            problems.append(f"{'an expression' if expression else 'a script'} that, tried once, {exc}"
                            .replace("that, tried once, a definition", "that, tried once,"))
        except Exception:  # noqa: S110 (it needs the case's data: tried for real when it runs)
            pass
    return problems


def _expression_problems(task_spec) -> list[str]:
    """Every expression and script of a task spec must compile under the sandbox."""
    expressions = _expressions(task_spec)
    problems = [problem for text in expressions if (problem := _compile_problem(text))]
    script = getattr(task_spec, "script", None)
    if isinstance(script, str) and (problem := _compile_problem(script, expression=False)):
        problems.append(problem)
    event = getattr(task_spec, "event_definition", None)
    if isinstance(event, TimerEventDefinition) and not problems and (problem := _timer_problem(event)):
        problems.append(problem)
    return problems


def _timer_problem(event) -> str | None:
    """A timer written as a quoted ISO 8601 value must parse as one, and a cycle must take some time (an
    expression is checked when it runs: its value depends on the case)."""
    try:
        value = ast.literal_eval(event.expression.strip())
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        if isinstance(event, CycleTimerEventDefinition):
            _repeats, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
            if duration <= timedelta(0):
                return f"timer cycle {value!r} repeats after no time at all: it would fire without end at once"
        elif isinstance(event, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # SpiffWorkflow raises bare Exceptions for bad ISO 8601
        return f"timer {event.expression!r} is not an ISO 8601 date, duration or cycle"
    return None


def _user_task_problems(ext: Extensions, task_spec: ApprovalUserTask, forms: Mapping[str, dict]) -> list[str]:
    problems = []
    if bool(task_spec.assignee_rule) == bool(task_spec.candidate_rule):
        problems.append("needs exactly one of camunda:assignee and camunda:candidateGroups")
    if task_spec.assignee_rule and task_spec.assignee_rule not in ext.person_rules:
        problems.append(f"camunda:assignee {task_spec.assignee_rule!r} is not a rule that finds one person")
    for rule in group_rules(task_spec.candidate_rule):
        if rule not in ext.group_rules:
            problems.append(f"camunda:candidateGroups {rule!r} is not a rule that finds a group")
    problems += _form_key_problems(ext, task_spec.form.key, forms)
    if task_spec.due_date and not is_literal(task_spec.due_date) and (problem := _compile_problem(task_spec.due_date)):
        problems.append(f"camunda:dueDate is neither ISO 8601 nor an allowed expression: {problem}")
    return problems


# -- drawn forms -------------------------------------------------------------------------------------

# A drawn form's id: what fits a task's form key (80 characters) after the prefix, in a file name too.
DRAWN_FORM_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
LONGEST_FORM_KEY = 80  # Task.form_key, ProcessDefinition.start_form_key


def _form_key_problems(ext: Extensions, form_key: str | None, forms: Mapping[str, dict]) -> list[str]:
    """A form key names a form of the code the application plugged in, or a drawn form that is given
    and that may be deployed (its schema's problems, rendered)."""
    form_id = drawn_form_id(form_key)
    if form_id is None:
        return [] if form_key in ext.forms else [f"unknown form key {form_key!r}"]
    if not DRAWN_FORM_ID.match(form_id) or len(form_key) > LONGEST_FORM_KEY:
        return [f"the drawn form id {form_id!r} is not an id: letters, digits, _ . and -, at most "
                f"{LONGEST_FORM_KEY - len(DRAWN_FORM_PREFIX)} characters"]
    if form_id not in forms:
        return [f"the drawn form {form_id!r} is not given: deploy its form (a .form file, its schema's id "
                f"{form_id!r}) with the process"]
    return [f"drawn form {form_id!r}: {problem}" for problem in map(str, ext.drawn_forms.problems(forms[form_id]))]


def _start_event(process, form_key: str) -> str | None:
    """The id of the start event naming `form_key` (None without the process's XML)."""
    if process is None:
        return None
    for start in process.iterfind(f"{{{BPMN_NS}}}startEvent"):
        if (start.get(f"{{{CAMUNDA_MODEL_NS}}}formKey") or "") == form_key:
            return start.get("id")
    return None


def _drawn_throughout(ext: Extensions, specs, start_form_key: str | None) -> bool:
    """Whether every form the process names is drawn (and it names one), and no start hook of the code adds
    facts to its cases: a process an administrator drew, whose data only its forms and its own BPMN set."""
    keys = form_keys(specs, start_form_key)
    declared = ext.processes.get(specs[0].name)
    return (bool(keys) and all(drawn_form_id(key) is not None for key in keys)
            and not (declared is not None and declared.start is not None))


def _parsed(text: str, mode: str):
    """The syntax tree of a definition's expression (`mode` "eval") or script ("exec"); None for one too
    long or that does not parse (its own check says why)."""
    if len(text or "") > MAX_EXPRESSION_CHARS:
        return None
    try:
        return ast.parse(text.strip() if mode == "eval" else text, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _names_read(text: str) -> set[str]:
    """The names an expression reads from the case (less those it binds itself: a comprehension's, a
    lambda's)."""
    tree = _parsed(text, "eval")
    if tree is None:
        return set()
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read - bound


def _names_set(text: str) -> set[str]:
    """The names a script assigns (anywhere in it)."""
    tree = _parsed(text, "exec")
    if tree is None:
        return set()
    nodes = list(ast.walk(tree))
    names = {node.id for node in nodes if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    return names | {node.name for node in nodes if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def _set_by_the_process(specs) -> set[str]:
    """What a process's own elements put into a case's data besides its forms: its scripts' assignments,
    its decisions' outputs (business rule tasks, and service tasks applying a decision), a multi-instance
    step's item and collections, a call activity's or subprocess's own data (its specs are among `specs`)."""
    names = {"initiator_id"}  # the engine's own: who opened the case
    for task_spec in (task_spec for spec in specs for task_spec in spec.task_specs.values()):
        if isinstance(getattr(task_spec, "script", None), str):
            names |= _names_set(task_spec.script)
        engine = getattr(task_spec, "dmnEngine", None) or getattr(task_spec, "decision", None)
        table = getattr(engine, "decision_table", None)
        names |= {output.name.split(".")[0] for output in getattr(table, "outputs", []) if output.name}
        for part in ("input_item", "output_item", "data_input", "data_output"):
            reference = getattr(task_spec, part, None)
            if getattr(reference, "bpmn_id", None):
                names.add(reference.bpmn_id)
    return names


def _condition_field_problems(ext: Extensions, specs, start_form_key: str | None, forms: Mapping[str, dict],
                              process) -> list[Problem]:
    """In a process drawn throughout (`_drawn_throughout`), a condition of a sequence flow naming something
    that no form of the process has (its drawn forms' keys), nothing of the process sets
    (`_set_by_the_process`) and that is no helper of the sandbox: a typo, or a field removed from a form,
    which would otherwise fail in a case (a NameError, an incident) rather than now.

    Only there: a process with forms of the code or a start hook (all of the company's own) reads what
    Python adds to its cases (derived facts, a form's fields, what a service returns), which the deploy
    cannot see. A service's data is not counted: the services a drawn process can use (copying,
    reminders) set none."""
    if not _drawn_throughout(ext, specs, start_form_key):
        return []
    known = set(sandbox.HELPERS) | set(sandbox.BUILTINS) | set(ext.helpers) | _set_by_the_process(specs)
    for form_id in {drawn_form_id(key) for key in form_keys(specs, start_form_key)}:
        if form_id in forms:
            known |= set(ext.drawn_forms.keys(forms[form_id]))
    called = {spec.name for spec in specs} - {process.get("id")}
    scopes = (process, *(other for other in process.getparent().iterfind(f"{{{BPMN_NS}}}process")
                         if other.get("id") in called))
    problems = []
    for scope in scopes:
        for flow in scope.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            unknown = sorted(_names_read(condition.text or "") - known) if condition is not None else []
            if unknown:
                problems.append(Problem(flow.get("id"), "its condition names " + ", ".join(map(repr, unknown))
                                        + ": no form of the process has such a field, and nothing else sets it"))
    return problems
