"""Process definitions: deployed from BPMN files into the database, versioned by content.

A definition row never changes; a changed file becomes the next version of its process, and
running instances keep the version they started on. Parsed specs are cached per version. A version
holds the DMN tables its decisions come from and the drawn forms (form-js schemas) its steps name
(`camunda-forms:deployment:<form id>`): a changed table or form is a new version too.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import func, select

from app import db
from app.engine import schedules
from app.engine.models import ProcessDefinition
from app.engine.parser import CAMUNDA_MODEL_NS, ApprovalUserTask, ProcessParser
from app.engine.plugins import drawn_form_id

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMESPACES = {"bpmn": BPMN_NS, "camunda": CAMUNDA_MODEL_NS}


@dataclass(frozen=True)
class Problem:
    """Why a definition cannot be deployed, at which BPMN element (None: the document as a whole)."""

    element: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.element}: {self.message}" if self.element else self.message


class DefinitionError(Exception):
    """A BPMN file that cannot be deployed; the message says why, `problems` element by element."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or [Problem(None, message)]


@dataclass(frozen=True)
class ParsedDefinition:
    spec: object
    subprocess_specs: dict
    has_timers: bool  # whether saving an instance must write its wake-ups
    decisions: dict  # decision id -> SpiffWorkflow DMNEngine, for the services that name one


def _decisions(spec, subprocess_specs: dict) -> dict:
    return {task_spec.decision_id: task_spec.decision
            for one in (spec, *subprocess_specs.values()) for task_spec in one.task_specs.values()
            if getattr(task_spec, "decision", None) is not None}


def _has_timers(spec, subprocess_specs: dict) -> bool:
    return any(isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
               for one in (spec, *subprocess_specs.values()) for task_spec in one.task_specs.values())


# Definitions are uploaded by people: XML is read without DTDs, entities or network access, and
# a document that declares a DOCTYPE at all (where entity bombs and external entities live) is refused
# before any other parser sees it. Nor may a document pull in anything from elsewhere: XInclude,
# processing instructions (an xml-stylesheet names a document to fetch) and BPMN's or DMN's own
# imports are refused like DTDs, whatever reads the stored document later.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
_SAFE_XML = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")


def checked_xml(xml: str, source_name: str, self_contained: bool = True) -> etree._Element:
    """The root of a BPMN or DMN document that is safe to hand to SpiffWorkflow, or DefinitionError.
    `self_contained=False` leaves out the inclusion checks (for versions stored before they existed:
    SpiffWorkflow ignores what they refuse, and a running case must keep its version)."""
    data = xml.encode()
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DefinitionError(f"{source_name}: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    try:
        root = etree.fromstring(data, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise DefinitionError(f"{source_name}: not well-formed XML: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or b"<!ENTITY" in data:
        raise DefinitionError(f"{source_name}: a DOCTYPE or entity declaration is not allowed in a definition")
    if self_contained:
        _refuse_inclusions(tree, source_name)
    return root


def _refuse_inclusions(tree, source_name: str) -> None:
    root = tree.getroot()
    for namespace in XINCLUDE_NAMESPACES:
        for element in root.iter(f"{{{namespace}}}*"):
            raise DefinitionError(f"{source_name}: an XInclude element (xi:{etree.QName(element).localname}) is "
                                  "not allowed in a definition: a definition is one self-contained document")
    for instruction in tree.xpath("//processing-instruction()"):
        raise DefinitionError(f"{source_name}: a processing instruction (<?{instruction.target} …?>) is not "
                              "allowed in a definition: it may reference an external resource")
    for element in root.iter("{*}import"):
        namespace = etree.QName(element).namespace or ""
        if namespace == BPMN_NS or "/DMN/" in namespace.upper():
            raise DefinitionError(f"{source_name}: an import of another document is not allowed in a definition: "
                                  "a definition is one self-contained document")


def _short(message: str, longest: int = 500) -> str:
    """SpiffWorkflow's messages quote the text at fault, which may be huge."""
    return message if len(message) <= longest else message[:longest] + " …"


def _parse(xml: str, source_name: str, dmn_files: dict[str, str], self_contained: bool = True
           ) -> tuple[ProcessParser, etree._Element]:
    """A parser holding one BPMN document and the DMN files its decisions may come from (all of
    them checked as safe XML first), and the BPMN document's root."""
    root = checked_xml(xml, source_name, self_contained)
    for name, document in dmn_files.items():
        checked_xml(document, name, self_contained)
    parser = ProcessParser()
    try:
        for name, dmn in sorted(dmn_files.items()):
            parser.add_dmn_str(dmn.encode(), filename=name)
        parser.add_bpmn_str(xml.encode(), filename=source_name)
    except (ValidationException, etree.XMLSyntaxError) as exc:
        raise DefinitionError(_short(f"{source_name}: {exc}")) from exc
    return parser, root


# Keyed by content too: a database rebuilt under a running process may reuse an id for other content.
_parsed_cache: dict[tuple[int, str, str], ParsedDefinition] = {}


def parsed(definition: ProcessDefinition) -> ParsedDefinition:
    """The SpiffWorkflow spec of a deployed version, parsed once per process (versions never change)."""
    cache_key = (definition.id, definition.key, definition.content_hash)
    cached = _parsed_cache.get(cache_key)
    if cached is None:
        parser, _root = _parse(definition.bpmn_xml, definition.source_name, definition.dmn_xml,
                               self_contained=False)
        spec, subprocess_specs = parser.get_spec(definition.key), parser.get_subprocess_specs(definition.key)
        cached = ParsedDefinition(spec, subprocess_specs, _has_timers(spec, subprocess_specs),
                                  _decisions(spec, subprocess_specs))
        _parsed_cache[cache_key] = cached
    return cached


def task_spec(definition: ProcessDefinition, spec_id: str):
    """A task spec of a deployed version by its BPMN id, in the process or one of its subprocesses."""
    parsed_definition = parsed(definition)
    for spec in (parsed_definition.spec, *parsed_definition.subprocess_specs.values()):
        if spec_id in spec.task_specs:
            return spec.task_specs[spec_id]
    raise KeyError(spec_id)


def _executable_processes(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{{{BPMN_NS}}}process[@isExecutable='true']")


def _decision_refs(process: etree._Element) -> set[str]:
    """The DMN decisions a process uses: business rule tasks' and domain services' `decision`."""
    refs = set(process.xpath(".//bpmn:businessRuleTask/@camunda:decisionRef", namespaces=NAMESPACES))
    refs.update(process.xpath(".//bpmn:serviceTask/bpmn:extensionElements/camunda:properties/"
                              "camunda:property[@name='decision']/@value", namespaces=NAMESPACES))
    return refs


def _start_form_key(process: etree._Element) -> str | None:
    for start in process.findall(f"{{{BPMN_NS}}}startEvent"):
        key = start.get(f"{{{CAMUNDA_MODEL_NS}}}formKey")
        if key:
            return key
    return None


def form_keys(specs, start_form: str | None) -> list[str]:
    """The form keys a process names: its start event's, its user tasks' (subprocesses' included)."""
    keys = [start_form] if start_form else []
    return keys + [task_spec.form.key for spec in specs for task_spec in spec.task_specs.values()
                   if isinstance(task_spec, ApprovalUserTask)]


def _drawn_form_ids(specs, start_form: str | None) -> set[str]:
    """The drawn forms a process names."""
    return {form_id for form_id in map(drawn_form_id, form_keys(specs, start_form)) if form_id is not None}


def _forms_text(forms: dict) -> str:
    """Drawn forms as the content hash reads them: the same schemas give the same text."""
    return json.dumps(forms, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def deploy(xml: str, source_name: str, now, find_problems, dmn_files: dict[str, str] | None = None,
           deployed_by_id: int | None = None, change_note: str = "", key: str | None = None,
           takes_effect: bool = True, forms: Mapping[str, dict] | None = None) -> list[ProcessDefinition]:
    """Deploy every executable process of one BPMN document; returns the versions it created, in force at
    once or (`takes_effect=False`) pending a second person's approval. A document the same as the version
    in force creates nothing.

    `dmn_files` ({file name: xml}) are where decisions may come from; the ones a process uses
    become part of its version (a changed decision table is a new version of the process). So are
    drawn forms: `forms` ({form id: form-js schema}, see `offered_forms`) are those a step's
    `camunda-forms:deployment:<form id>` may name; the ones a process names become part of its version.
    `find_problems(specs, start_form_key=, schedule=, process=, forms=)` lists what the application cannot run in the
    process and its subprocesses (unknown rules, form keys, services …); any problem refuses the
    whole document. With `key` (an edit or upload of that process) the document must hold that
    executable process, and only it is deployed: another executable process is refused (see
    `_other_process_problems`), so that an upload never makes a version of a process as a side effect.
    """
    dmn_files, forms = dmn_files or {}, dict(forms or {})
    parser, root = _parse(xml, source_name, dmn_files)
    processes = _executable_processes(root)
    if key is not None:
        if key not in {process.get("id") for process in processes}:
            raise DefinitionError(f"the document must hold the executable process {key!r}")
        others = [process for process in processes if process.get("id") != key]
        processes = [process for process in processes if process.get("id") == key]
        if problems := _other_process_problems(parser, source_name, key, others):
            raise DefinitionError(f"{source_name}: " + "; ".join(map(str, problems)), problems)
    created = []
    for process in processes:
        key = process.get("id")
        try:
            spec, subprocess_specs = parser.get_spec(key), parser.get_subprocess_specs(key)
        except ValidationException as exc:
            raise DefinitionError(_short(f"{source_name}: {exc}")) from exc
        start_form, schedule = _start_form_key(process), schedules.declared(process, NAMESPACES)
        specs = [spec, *subprocess_specs.values()]
        problems = find_problems(specs, start_form_key=start_form, schedule=schedule, process=process, forms=forms)
        if problems:
            raise DefinitionError(f"{source_name}: " + "; ".join(map(str, problems)), problems)
        used = {name: dmn_files[name] for name in sorted(
            {parser.dmn_parsers[ref].filename for ref in _decision_refs(process)})}
        drawn = {form_id: forms[form_id] for form_id in sorted(_drawn_form_ids(specs, start_form))}
        # A version without drawn forms hashes as it did before they existed (no new version of it).
        content_hash = hashlib.sha256("\n".join([xml, *used.values(), *([_forms_text(drawn)] if drawn else [])])
                                      .encode()).hexdigest()
        current = latest_definition(key)
        if current is not None and current.content_hash == content_hash:
            continue
        newest = newest_version(key)
        definition = ProcessDefinition(
            key=key, version=(newest.version + 1) if newest else 1, name=process.get("name") or key,
            content_hash=content_hash, bpmn_xml=xml, source_name=source_name, dmn_xml=used, form_schemas=drawn,
            start_form_key=start_form, schedule=schedule, deployed_at=now, deployed_by_id=deployed_by_id,
            change_note=change_note, approved_at=now if takes_effect else None)
        db.session.add(definition)
        created.append(definition)
    db.session.flush()
    return created


def _other_process_problems(parser: ProcessParser, source_name: str, key: str,
                            others: list[etree._Element]) -> list[Problem]:
    """Why the other executable processes of a document deployed as process `key` keep it from being
    deployed. Allowed, and never deployed from it: a process `key` calls (part of its version), and one
    that already shares `key`'s deployed document (a file of processes/ may hold two) exactly as its own
    newest version has it. Anything else would deploy another process behind the administrator's back."""
    if not others:
        return []
    try:
        called = set(parser.get_subprocess_specs(key))
    except ValidationException as exc:
        raise DefinitionError(_short(f"{source_name}: {exc}")) from exc
    deployed = latest_definition(key)
    sharing = set() if deployed is None else {
        process.get("id") for process in _executable_processes(_stored_root(deployed))}
    problems = []
    for process in others:
        other = process.get("id")
        if other in called:
            continue
        if other not in sharing:
            problems.append(Problem(other, f"another executable process: a document deployed as {key!r} deploys "
                                           f"that process only (deploy {other!r} on its own, or mark it "
                                           'isExecutable="false")'))
            continue
        own = latest_definition(other)
        deployed_process = None if own is None else next(
            (p for p in _stored_root(own).iterfind(f"{{{BPMN_NS}}}process") if p.get("id") == other), None)
        if deployed_process is None or _canonical(deployed_process) != _canonical(process):
            problems.append(Problem(other, f"differs from its deployed version: a document deployed as {key!r} "
                                           f"deploys that process only (deploy changes to {other!r} on its own)"))
    return problems


def _stored_root(definition: ProcessDefinition) -> etree._Element:
    return etree.fromstring(definition.bpmn_xml.encode(), _SAFE_XML)


def _canonical(element: etree._Element) -> tuple:
    """An element as far as the engine reads it: names resolved, attributes in any order, comments
    and whitespace between elements ignored (a modeler may lay a document out its own way)."""
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(),
            tuple((_canonical(child), (child.tail or "").strip()) for child in element
                  if isinstance(child.tag, str)))


APPROVED = ProcessDefinition.approved_at.is_not(None)


def latest_definitions() -> list[ProcessDefinition]:
    """The version in force of each process: its newest approved one."""
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .where(APPROVED).group_by(ProcessDefinition.key).subquery())
    return list(db.session.scalars(
        select(ProcessDefinition).join(newest, (ProcessDefinition.key == newest.c.key)
                                       & (ProcessDefinition.version == newest.c.version))
        .order_by(ProcessDefinition.key)))


def versions(key: str) -> list[ProcessDefinition]:
    """Every deployed version of a process, pending and rejected ones too, newest first."""
    return list(db.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                   .order_by(ProcessDefinition.version.desc())))


def version(key: str, number: int) -> ProcessDefinition | None:
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                             ProcessDefinition.version == number))


def latest_definition(key: str) -> ProcessDefinition | None:
    """The version in force: new cases start on it (the newest approved one)."""
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key, APPROVED)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def newest_version(key: str) -> ProcessDefinition | None:
    """The newest version of a process, whether in force, pending or rejected (the next one's number)."""
    return db.session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                             .order_by(ProcessDefinition.version.desc()).limit(1))


def _pending_after_current():
    """Pending versions newer than their process's version in force (one that is older can no longer
    take effect)."""
    current = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
               .where(APPROVED).group_by(ProcessDefinition.key).subquery())
    return (select(ProcessDefinition).outerjoin(current, ProcessDefinition.key == current.c.key)
            .where(ProcessDefinition.approved_at.is_(None), ProcessDefinition.rejected_at.is_(None),
                   (current.c.version.is_(None)) | (ProcessDefinition.version > current.c.version))
            .order_by(ProcessDefinition.key, ProcessDefinition.version.desc()))


def pending_version(key: str) -> ProcessDefinition | None:
    """The version of a process waiting for a second person's approval, if any."""
    return db.session.scalar(_pending_after_current().where(ProcessDefinition.key == key).limit(1))


def pending_versions() -> dict[str, ProcessDefinition]:
    """Every process's version waiting for approval, by process key."""
    found: dict[str, ProcessDefinition] = {}
    for definition in db.session.scalars(_pending_after_current()):
        found.setdefault(definition.key, definition)
    return found


@dataclass(frozen=True)
class FormChange:
    """How a drawn form differs between two versions: `change` is added, removed or changed; of a changed
    one, its fields (by key; a list's row fields as `list.key`) added, removed, relabelled (key: (old
    label, new label)) and otherwise changed (type, validation, choices …), and `other`: whatever else
    changed (layout, text) when no field did."""

    form_id: str
    change: str
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)
    relabelled: dict[str, tuple[str, str]] = field(default_factory=dict)
    fields_changed: list[str] = field(default_factory=list)
    other: bool = False


ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class VersionDiff:
    """How one version of a process differs from another, element by element (BPMN ids), and drawn form
    by drawn form (form ids)."""

    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]  # element -> what changed about it
    forms: list[FormChange] = field(default_factory=list)


def _elements(definition: ProcessDefinition) -> dict[str, dict]:
    """Each BPMN element of a version (subprocesses included) with what the engine runs of it."""
    found = parsed(definition)
    elements = {}
    for spec in (found.spec, *found.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "bpmn_id", None):
                continue
            event = getattr(task_spec, "event_definition", None)
            form = getattr(task_spec, "form", None)
            elements[task_spec.name] = {
                "type": type(task_spec).__name__, "name": task_spec.bpmn_name,
                "next": sorted(o.name for o in task_spec.outputs),
                "conditions": sorted(c.args[0] for c, _ in getattr(task_spec, "cond_task_specs", []) if c),
                "form key": getattr(form, "key", None), "assignee": getattr(task_spec, "assignee_rule", None),
                "candidate groups": getattr(task_spec, "candidate_rule", None),
                "due date": getattr(task_spec, "due_date", None), "topic": getattr(task_spec, "topic", None),
                "decision": getattr(task_spec, "decision_id", None), "script": getattr(task_spec, "script", None),
                "timer": getattr(event, "expression", None)}
    return elements


def _form_fields(components, prefix: str = "") -> dict[str, dict]:
    """A form-js schema's fields by key (a group's at its own level, a list's rows as `list.key`), each
    with what it says besides its place and its inner components."""
    fields: dict[str, dict] = {}
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, Mapping):
            continue
        name = component.get("path") if component.get("type") == "dynamiclist" else component.get("key")
        if isinstance(name, str) and name:
            fields[prefix + name] = {k: v for k, v in component.items() if k not in ("id", "layout", "components")}
        if component.get("type") == "dynamiclist" and isinstance(name, str):
            fields.update(_form_fields(component.get("components"), f"{prefix}{name}."))
        elif component.get("type") != "dynamiclist":
            fields.update(_form_fields(component.get("components"), prefix))
    return fields


def _form_change(form_id: str, old: dict, new: dict) -> FormChange:
    before, after = _form_fields(old.get("components")), _form_fields(new.get("components"))
    kept = sorted(set(before) & set(after))
    relabelled = {key: (str(before[key].get("label") or ""), str(after[key].get("label") or ""))
                  for key in kept if before[key].get("label") != after[key].get("label")}
    changed = [key for key in kept if {k: v for k, v in before[key].items() if k != "label"}
               != {k: v for k, v in after[key].items() if k != "label"}]
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    return FormChange(form_id, CHANGED, added, removed, relabelled, changed,
                      other=not (added or removed or relabelled or changed))


def form_changes(old: ProcessDefinition, new: ProcessDefinition) -> list[FormChange]:
    """The drawn forms added, removed and changed from one version to another, by form id."""
    before, after = old.form_schemas or {}, new.form_schemas or {}
    return ([FormChange(form_id, ADDED) for form_id in sorted(set(after) - set(before))]
            + [FormChange(form_id, REMOVED) for form_id in sorted(set(before) - set(after))]
            + [_form_change(form_id, before[form_id], after[form_id])
               for form_id in sorted(set(before) & set(after)) if before[form_id] != after[form_id]])


def diff(old: ProcessDefinition, new: ProcessDefinition) -> VersionDiff:
    before, after = _elements(old), _elements(new)
    return VersionDiff(added=sorted(set(after) - set(before)), removed=sorted(set(before) - set(after)),
                       changed={name: [key for key, value in before[name].items() if after[name].get(key) != value]
                                for name in sorted(set(before) & set(after)) if before[name] != after[name]},
                       forms=form_changes(old, new))


def bpmn_files(directory: str) -> list[Path]:
    return sorted(Path(directory).glob("*.bpmn"))


def dmn_files(directory: str) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(Path(directory).glob("*.dmn"))}


# Drawn forms: form-js schemas (JSON), each named by its `id`, offered to a deploy like DMN files.
MAX_FORM_BYTES = MAX_DOCUMENT_BYTES


def offered_forms(given, source_name: str = "forms") -> dict[str, dict]:
    """Drawn forms as a deploy takes them, {form id: schema}: from a list of form-js schemas, each named
    by its `id` (as form-js saves a .form file), or from an object {form id: schema} (a schema's own `id`,
    if it has one, must be that id). DefinitionError naming what is not a form, a form without an id, an
    id given twice, a schema larger than MAX_FORM_BYTES. Whether a schema may be deployed is the deploy's
    question (validation), asked of the forms a process names."""
    if isinstance(given, Mapping):
        pairs = list(given.items())
    elif isinstance(given, list):
        pairs = [(schema.get("id") if isinstance(schema, Mapping) else None, schema) for schema in given]
    else:
        raise DefinitionError(f"{source_name}: a list of form-js schemas, or an object of them by form id")
    forms: dict[str, dict] = {}
    problems = []
    for number, (form_id, schema) in enumerate(pairs):
        named = f"form {form_id!r}" if isinstance(form_id, str) and form_id else f"form #{number + 1}"
        if not isinstance(schema, Mapping):
            problems.append(f"{named}: not a JSON object (a form-js schema)")
        elif not isinstance(form_id, str) or not form_id:
            problems.append(f"{named}: a form needs its id (the schema's `id`)")
        elif schema.get("id", form_id) != form_id:
            problems.append(f"{named}: its schema's id is {schema.get('id')!r}")
        elif form_id in forms:
            problems.append(f"{named}: given twice")
        else:
            try:
                size = len(_forms_text(schema).encode())
            except (TypeError, ValueError, RecursionError):
                size = None
            if size is None:
                problems.append(f"{named}: not a JSON document")
            elif size > MAX_FORM_BYTES:
                problems.append(f"{named}: larger than {MAX_FORM_BYTES // (1024 * 1024)} MB")
            else:
                forms[form_id] = {**schema, "id": form_id}
    if problems:
        found = [Problem(None, f"{source_name}: {problem}") for problem in problems]
        raise DefinitionError("; ".join(map(str, found)), found)
    return forms


def form_files(directory: str) -> dict[str, dict]:
    """The drawn forms of a directory's .form files (form-js's own file type: one schema, named by its
    `id`), offered to every BPMN file of the directory like its .dmn files; DefinitionError naming a file
    that is not one, or two files of one id."""
    forms: dict[str, dict] = {}
    where: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.form")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise DefinitionError(f"{path.name}: not a JSON document: {exc}") from exc
        for form_id, found in offered_forms([schema], path.name).items():
            if form_id in forms:
                raise DefinitionError(f"{path.name}: the form id {form_id!r} is {where[form_id]}'s too")
            forms[form_id], where[form_id] = found, path.name
    return forms
