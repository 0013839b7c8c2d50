"""The compliance reviewer's PDF dossier of one case (issue 7), for the file: how the case began and
ended and whether its audit chain verifies, its data, every decision, the whole audit trail, and its
diagram with the path it took. Made from what engine.timeline gives, in the reader's language; every
text is set in reportlab's built-in CID font STSong-Light, so Chinese renders without a font file.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from lxml import etree
from reportlab.graphics.shapes import Circle, Drawing, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.textsplit import wordSplit
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from app import labels
from app.calendar import COMPANY_TZ
from app.engine.models import Instance
from app.read.timeline import BPMN_NS, Entry, Path
from forms import readable

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
# The font's encoding (UCS-2) cannot say characters beyond the Basic Multilingual Plane (emoji, rare
# ideographs): they are printed as their code point, not as whatever glyph their halves would pick.
BEYOND_UCS2 = re.compile("[\U00010000-\U0010FFFF]")

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TEXT = colors.HexColor("#212121")
TAKEN = colors.HexColor("#1565C0")  # the diagram's elements and flows the case went through
WAITING = colors.HexColor("#E65100")  # where it waits now
NOT_REACHED = colors.HexColor("#9E9E9E")
TAKEN_FILL, WAITING_FILL = colors.HexColor("#E3F2FD"), colors.HexColor("#FFF3E0")
ALERT = colors.HexColor("#C62828")
RULE, HEADER_FILL = colors.HexColor("#BDBDBD"), colors.HexColor("#EEEEEE")

PORTRAIT, LANDSCAPE = A4, landscape(A4)
MARGIN = 15 * mm
TEXT_WIDTH = PORTRAIT[0] - 2 * MARGIN

BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=TEXT, wordWrap="CJK")
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8, leading=10)
CELL_ALERT = ParagraphStyle("cell_alert", parent=CELL, textColor=ALERT)
TITLE = ParagraphStyle("title", parent=BODY, fontSize=16, leading=20, spaceAfter=8)
HEADING = ParagraphStyle("heading", parent=BODY, fontSize=12, leading=16, spaceBefore=12, spaceAfter=4,
                         textColor=TAKEN)

# What a person wrote with a decision, as the case page shows it under the decision (_macros.html).

# The diagram, in BPMN units (pixels of the modeler) before it is scaled to the page.
DIAGRAM_FONT_SIZE = 11
LINE_HEIGHT = DIAGRAM_FONT_SIZE * 1.2
LABEL_WIDTH = 100  # of an event's, gateway's or flow's name the modeler gave no place
LABEL_SLACK = 8  # beyond the modeler's label bounds: its font is not ours
DIAGRAM_PADDING = 24
DIAGRAM_HEADROOM = 80  # points of a diagram page kept for its heading and legend


def render(instance: Instance, entries: list[Entry], path: Path, *, chain_verified: bool,
           reads: list[tuple[datetime, str, str]], generated_at: datetime) -> bytes:
    """The dossier as PDF bytes, in the language of the current request.

    `entries` and `path` come from engine.timeline; `chain_verified` is whether the case's audit chain
    verified when the dossier was made (the chain head is printed beside it, so that the file can be
    checked against the trail later); `reads` are the dossier reads made under the case's loan, as
    (time, reader's name, channel), listed when the case granted a loan.
    """
    buffer = BytesIO()
    footer = f"#{instance.id} · {instance.definition.name} v{instance.definition.version}"
    document = BaseDocTemplate(buffer, pagesize=PORTRAIT, title=_("Case dossier #%(number)s", number=instance.id),
                               leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN)
    document.addPageTemplates([_page_template("portrait", PORTRAIT, footer),
                               _page_template("landscape", LANDSCAPE, footer)])
    document.build([*_summary(instance, chain_verified, generated_at), *_case_data(instance),
                    *_decisions(entries), *_timeline(instance, entries), *_diagram_section(instance, path),
                    *_reads(entries, reads)])
    return buffer.getvalue()


# -- pages ------------------------------------------------------------------------------------------

def _frame_size(pagesize: tuple[float, float]) -> tuple[float, float]:
    return pagesize[0] - 2 * MARGIN, pagesize[1] - 2 * MARGIN


def _page_template(name: str, pagesize: tuple[float, float], footer: str) -> PageTemplate:
    """A page of one orientation, each page saying which case it belongs to and its number (pages of a
    dossier get separated)."""
    width, height = _frame_size(pagesize)

    def draw_footer(canvas, document):
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(NOT_REACHED)
        canvas.drawString(MARGIN, MARGIN / 2, _printable(footer))
        canvas.drawRightString(pagesize[0] - MARGIN, MARGIN / 2, _("Page %(number)s", number=document.page))
        canvas.restoreState()

    frame = Frame(MARGIN, MARGIN, width, height, id=name, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)
    return PageTemplate(id=name, frames=[frame], onPage=draw_footer, pagesize=pagesize)


def _local(moment: datetime, seconds: bool = False) -> str:
    """Company time, the same digits in every language (as the pages show it)."""
    return moment.astimezone(COMPANY_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _printable(text: str) -> str:
    """Text the font can show: the middle dot of foreign names (which its character map lacks) as the
    one it has, characters it cannot encode as their code points."""
    return BEYOND_UCS2.sub(lambda match: f"[U+{ord(match.group()):X}]", text.replace("\u00b7", "\u30fb"))


def _para(text: str, style: ParagraphStyle = CELL) -> Paragraph:
    """Plain text (never markup) as a paragraph that wraps anywhere, Chinese and long words alike."""
    return Paragraph(escape(_printable(text)).replace("\n", "<br/>"), style)


def _heading(text: str) -> Paragraph:
    return _para(text, HEADING)


def _table(rows: list[list], widths: list[float], header: list[str] | None = None) -> Table:
    """A table of text cells that wrap; a row taller than a page goes on over the next one."""
    cells = [[cell if isinstance(cell, Flowable) else _para(cell) for cell in row] for row in rows]
    if header:
        cells.insert(0, [_para(text) for text in header])
    table = Table(cells, colWidths=[fraction * TEXT_WIDTH for fraction in widths],
                  repeatRows=1 if header else 0, splitInRow=1)
    style = [("GRID", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL))
    table.setStyle(TableStyle(style))
    return table


# -- sections ---------------------------------------------------------------------------------------

def _summary(instance: Instance, chain_verified: bool, generated_at: datetime) -> list[Flowable]:
    definition = instance.definition
    status = str(labels.label(labels.STATUSES, instance.status))
    if instance.outcome:
        status += f" · {labels.label(labels.OUTCOMES, instance.outcome)}"
    starter = instance.started_by
    chain = (_para(_("verified")) if chain_verified
             else _para(_("does not verify: the case's history has been altered"), CELL_ALERT))
    rows = [
        [_("Process"), _("%(name)s, version %(version)s", name=definition.name, version=definition.version)],
        [_("Status"), status],
        [_("Started by"), f"{starter.display_name} ({starter.username}) · {starter.org_unit.name}" if starter
         else labels.opened_by_schedule(definition)],
        [_("Started at"), _local(instance.started_at)],
    ]
    if instance.ended_at:
        rows.append([_("Ended at"), _local(instance.ended_at)])
    rows += [[_("Audit chain"), chain], [_("Chain head"), instance.chain_head or "—"],
             [_("Dossier generated at"), _local(generated_at)]]
    return [_para(_("Case dossier #%(number)s", number=instance.id), TITLE), _table(rows, [0.22, 0.78])]


def _case_data(instance: Instance) -> list[Flowable]:
    """What the initiator filed and the facts derived at start, by the request form's labels."""
    rows = [[label, _shown(value)] for label, value in readable(instance.definition.start_form_key,
                                                                 instance.start_data)]
    return [_heading(_("Case data")), _table(rows, [0.22, 0.78]) if rows else _para(_("None."), BODY)]


def _decisions(entries: list[Entry]) -> list[Flowable]:
    """Every completed step: when, which, who, the decision and what the person wrote with it."""
    rows = [[_local(entry.event.at), entry.task.name, _who(entry),
             str(labels.label(labels.DECISIONS, entry.form_data.get("decision"))),
             "\n\n".join(str(entry.form_data[key]) for key in current_app.extensions["engine"].extensions.comment_fields
                         if entry.form_data.get(key))]
            for entry in entries if entry.event.type == "task_completed" and entry.task is not None]
    if not rows:
        return [_heading(_("Decisions")), _para(_("No step has been completed yet."), BODY)]
    header = [_("Time"), _("Step"), _("Acted by"), _("Decision"), _("Remarks")]
    return [_heading(_("Decisions")), _table(rows, [0.13, 0.17, 0.2, 0.1, 0.4], header)]


def _timeline(instance: Instance, entries: list[Entry]) -> list[Flowable]:
    """The whole audit trail, oldest first, as the reviewer's case page shows it."""
    rows = [[_local(entry.event.at, seconds=True), labels.event_words(entry.event),
             entry.task.name if entry.task else "", _who(entry),
             _details(entry, entry.task.form_key if entry.task else instance.definition.start_form_key)]
            for entry in entries]
    header = [_("Time"), _("Event"), _("Step"), _("Acted by"), _("Details")]
    return [_heading(_("Timeline")), _table(rows, [0.14, 0.12, 0.15, 0.21, 0.38], header)]


def _reads(entries: list[Entry], reads: list[tuple[datetime, str, str]]) -> list[Flowable]:
    """The dossier reads the case's loan allowed; nothing for a case that granted none."""
    if not any(entry.event.type == "loan_granted" for entry in entries):
        return []
    heading = _heading(_("Dossier reads under this case's loan"))
    if not reads:
        return [heading, _para(_("None."), BODY)]
    rows = [[_local(at), reader, _("page") if channel == "page" else "API"] for at, reader, channel in reads]
    return [heading, _table(rows, [0.2, 0.5, 0.3], [_("Time"), _("Reader"), _("Channel")])]


def _who(entry: Entry) -> str:
    """The actor by name and user name, with his roles and org unit as they are now."""
    actor = entry.actor
    if actor is None:
        return _("the system")
    roles = ", ".join(str(labels.label(labels.ROLES, code)) for code in entry.actor_roles)
    return "\n".join(part for part in (f"{actor.display_name} ({actor.username})", roles, entry.actor_unit)
                     if part)


def _details(entry: Entry, form_key: str | None) -> str:
    """What an event carried: the submitted fields by the form's labels, the values they replaced, the
    facts the case page shows beside an event, and the start of the event's hash in the chain."""
    event, data = entry.event, entry.event.data
    lines = [f"{label}: {_shown(value)}" for label, value in readable(form_key, entry.form_data)]
    lines += [_("%(field)s changed: %(old)s → %(new)s", field=name, old=_shown(old), new=_shown(new))
              for name, (old, new) in entry.changes.items()]
    if event.type in ("duty_rerouted", "duty_overridden"):
        lines.append(f"{data.get('person')}: {labels.label(labels.SEGREGATION_RULES, data.get('rule'))}")
    if data.get("reason") and not entry.form_data:
        lines.append(str(data["reason"]))
    if event.type == "attachment_added":
        lines.append(str(data.get("filename")))
    if event.type == "timer_fired":
        lines.append(labels.deadline_words(data))
    if event.type == "instance_completed" and data.get("outcome"):
        lines.append(str(labels.label(labels.OUTCOMES, data["outcome"])))
    if event.type == "loan_granted" and data.get("expires_at"):
        lines.append(_("until %(until)s", until=_local(datetime.fromisoformat(data["expires_at"]))))
    if event.hash:
        lines.append(f"SHA-256 {event.hash[:16]}…")
    return "\n".join(lines)


def _shown(value) -> str:
    """A submitted value as text, a structure (a rating sheet's rows) as compact JSON."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


# -- the diagram ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """Bounds in BPMN DI coordinates (y grows downwards)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Shape:
    element_id: str
    kind: str  # the BPMN element's tag: userTask, exclusiveGateway, endEvent …
    name: str
    bounds: Box
    label: Box | None
    expanded: bool  # a subprocess drawn with its content

    @property
    def layer(self) -> int:
        """Containers first, then the content, boundary events on top of the tasks they sit on."""
        if self.expanded or self.kind in ("participant", "lane"):
            return 0
        return 2 if self.kind == "boundaryEvent" else 1


@dataclass(frozen=True)
class Edge:
    element_id: str
    name: str
    points: list[tuple[float, float]]
    label: Box | None


@dataclass(frozen=True)
class Diagram:
    shapes: list[Shape]
    edges: list[Edge]
    left: float
    top: float
    width: float
    height: float


def _read_diagram(bpmn_xml: str) -> Diagram | None:
    """The shapes and edges of the definition's (first) diagram plane; None when it has no layout."""
    root = etree.fromstring(bpmn_xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    elements = {element.get("id"): element for element in root.iter(f"{{{BPMN_NS}}}*") if element.get("id")}
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return None
    shapes, edges = [], []
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        element, bounds = elements.get(shape.get("bpmnElement")), shape.find(f"{{{DC_NS}}}Bounds")
        if element is not None and bounds is not None:
            shapes.append(Shape(element.get("id"), etree.QName(element).localname, element.get("name") or "",
                                _box(bounds), _label_box(shape), shape.get("isExpanded") == "true"))
    for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        element = elements.get(edge.get("bpmnElement"))
        points = [(float(point.get("x")), float(point.get("y"))) for point in edge.iter(f"{{{DI_NS}}}waypoint")]
        if element is not None and len(points) >= 2:
            edges.append(Edge(element.get("id"), element.get("name") or "", points, _label_box(edge)))
    if not shapes:
        return None
    boxes = [box for shape in shapes for box in (shape.bounds, shape.label) if box is not None]
    boxes += [edge.label for edge in edges if edge.label is not None]
    xs = [x for box in boxes for x in (box.x, box.x + box.width)] + [x for edge in edges for x, _y in edge.points]
    ys = [y for box in boxes for y in (box.y, box.bottom)] + [y for edge in edges for _x, y in edge.points]
    left, top = min(xs) - DIAGRAM_PADDING, min(ys) - DIAGRAM_PADDING
    return Diagram(shapes, edges, left, top, max(xs) + DIAGRAM_PADDING - left, max(ys) + DIAGRAM_PADDING - top)


def _box(bounds) -> Box:
    return Box(*(float(bounds.get(name)) for name in ("x", "y", "width", "height")))


def _label_box(element) -> Box | None:
    bounds = element.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds")
    return _box(bounds) if bounds is not None else None


def _diagram_section(instance: Instance, path: Path) -> list[Flowable]:
    """The diagram on a page of its own, landscape when it is wider than tall, scaled to fit (never
    enlarged), with the legend of its colours."""
    heading = _heading(_("Diagram"))
    diagram = _read_diagram(instance.definition.bpmn_xml)
    if diagram is None:
        return [heading, _para(_("The definition has no diagram layout."), BODY)]
    template, pagesize = ("landscape", LANDSCAPE) if diagram.width >= diagram.height else ("portrait", PORTRAIT)
    width, height = _frame_size(pagesize)
    scale = min(1.0, width / diagram.width, (height - DIAGRAM_HEADROOM) / diagram.height)
    keys = [Paragraph(f'<font color="{color.hexval()}">■</font> {escape(text)}', CELL) for color, text in
            ((TAKEN, _("path taken")), (WAITING, _("waiting here")), (NOT_REACHED, _("not reached")))]
    legend = Table([[*keys, _para(_("In each step: the time the case spent there."))]],
                   colWidths=[fraction * TEXT_WIDTH for fraction in (0.16, 0.16, 0.16, 0.52)], hAlign="LEFT")
    return [NextPageTemplate(template), PageBreak(), heading, legend, Spacer(1, 6),
            _drawing(diagram, path, scale)]


def _drawing(diagram: Diagram, path: Path, scale: float) -> Drawing:
    """Containers first, then the flows, then the elements over the flows' ends."""
    painter = _Painter(diagram, path, scale)
    shapes = sorted(diagram.shapes, key=lambda shape: shape.layer)
    for shape in shapes:
        if shape.layer == 0:
            painter.shape(shape)
    for edge in diagram.edges:
        painter.edge(edge)
    for shape in shapes:
        if shape.layer > 0:
            painter.shape(shape)
    return painter.drawing


class _Painter:
    """Draws a diagram's shapes and edges, given in BPMN coordinates, onto a reportlab Drawing at a
    scale, coloured by where the case has been."""

    def __init__(self, diagram: Diagram, path: Path, scale: float):
        self.diagram, self.path, self.scale = diagram, path, scale
        self.drawing = Drawing(diagram.width * scale, diagram.height * scale)
        self.drawing.hAlign = "CENTER"

    def point(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.diagram.left) * self.scale, (self.diagram.top + self.diagram.height - y) * self.scale

    def lines(self, content: str, width: float, max_lines: int, size: float = DIAGRAM_FONT_SIZE) -> list[str]:
        return _wrap(_printable(content), width * self.scale, size * self.scale, max_lines)

    def text(self, lines: list[str], center_x: float, top: float, color, size: float = DIAGRAM_FONT_SIZE):
        """Centred lines from `top` down."""
        for number, line in enumerate(lines, start=1):
            x, y = self.point(center_x, top + number * size * 1.2 - size * 0.25)
            self.drawing.add(String(x, y, line, fontName=FONT, fontSize=size * self.scale, fillColor=color,
                                    textAnchor="middle"))

    def shape(self, shape: Shape) -> None:
        """Tasks as rounded rectangles with their names inside (and the time spent there above the name),
        events as circles and gateways as diamonds with their names where the modeler put their labels
        (else below them)."""
        stroke, fill, stroke_width = _state(shape.element_id, self.path)
        text_color = NOT_REACHED if stroke is NOT_REACHED else TEXT
        bounds, scale = shape.bounds, self.scale
        left, bottom = self.point(bounds.x, bounds.bottom)
        width, height = bounds.width * scale, bounds.height * scale
        center_x, center_y = left + width / 2, bottom + height / 2
        style = {"strokeColor": stroke, "strokeWidth": stroke_width, "fillColor": fill}
        if shape.kind.endswith("Gateway") or shape.kind.endswith("Event"):
            if shape.kind.endswith("Gateway"):
                self.drawing.add(Polygon([center_x, bottom, left + width, center_y, center_x, bottom + height,
                                          left, center_y], **style))
            else:
                if shape.kind == "endEvent":
                    style["strokeWidth"] = stroke_width * 1.8
                self.drawing.add(Circle(center_x, center_y, min(width, height) / 2, **style))
            label = shape.label or Box(bounds.center_x - LABEL_WIDTH / 2, bounds.bottom + 4, LABEL_WIDTH, 0)
            self.text(self.lines(shape.name, label.width + LABEL_SLACK, 3), label.center_x, label.y, text_color)
        elif shape.layer == 0:  # a container: its name at the top, its content drawn over it
            self.drawing.add(Rect(left, bottom, width, height, rx=10 * scale, ry=10 * scale,
                                  **{**style, "fillColor": None}))
            self.text(self.lines(shape.name, bounds.width - 12, 2), bounds.center_x, bounds.y + 2, text_color)
        else:
            self.drawing.add(Rect(left, bottom, width, height, rx=10 * scale, ry=10 * scale, **style))
            self._task_texts(shape, text_color)

    def _task_texts(self, shape: Shape, color) -> None:
        """For a human step, the time spent there on the box's first line (boundary events and their
        labels take the space below the box); the name centred in the rest."""
        bounds, spent = shape.bounds, self.path.time_at.get(shape.element_id)
        top = bounds.y + 3
        if spent is not None:
            self.text(self.lines(_duration(spent), bounds.width - 8, 1), bounds.center_x, top,
                      WAITING if shape.element_id in self.path.waiting else TAKEN)
            top += LINE_HEIGHT
        room = bounds.bottom - 3 - top
        lines = self.lines(shape.name, bounds.width - 8, max(1, int(room // LINE_HEIGHT)))
        self.text(lines, bounds.center_x, top + (room - len(lines) * LINE_HEIGHT) / 2, color)

    def edge(self, edge: Edge) -> None:
        """A flow as a line with an arrowhead at its target, its name where the modeler put it (else
        beside its middle segment)."""
        color = TAKEN if edge.element_id in self.path.flows else NOT_REACHED
        points = [self.point(x, y) for x, y in edge.points]
        self.drawing.add(PolyLine([coordinate for xy in points for coordinate in xy], strokeColor=color,
                                  strokeWidth=1.8 if color is TAKEN else 0.8))
        (from_x, from_y), (tip_x, tip_y) = points[-2], points[-1]
        length = math.hypot(tip_x - from_x, tip_y - from_y) or 1
        along_x, along_y = (tip_x - from_x) / length, (tip_y - from_y) / length
        size = max(10 * self.scale, 3)
        base_x, base_y = tip_x - along_x * size, tip_y - along_y * size
        across_x, across_y = -along_y * size * 0.4, along_x * size * 0.4
        self.drawing.add(Polygon([tip_x, tip_y, base_x + across_x, base_y + across_y, base_x - across_x,
                                  base_y - across_y], strokeColor=color, strokeWidth=0.5, fillColor=color))
        if edge.name:
            middle = len(edge.points) // 2
            (x1, y1), (x2, y2) = edge.points[middle - 1], edge.points[middle]
            label = edge.label or Box((x1 + x2) / 2 - LABEL_WIDTH / 2, (y1 + y2) / 2 + 2, LABEL_WIDTH, 0)
            size = DIAGRAM_FONT_SIZE * 0.9
            self.text(self.lines(edge.name, label.width + LABEL_SLACK, 2, size), label.center_x, label.y,
                      TEXT if color is TAKEN else NOT_REACHED, size)


def _state(element_id: str, path: Path) -> tuple[colors.Color, colors.Color, float]:
    """Stroke colour, fill and stroke width of an element by where the case has been."""
    if element_id in path.waiting:
        return WAITING, WAITING_FILL, 2
    if element_id in path.passed:
        return TAKEN, TAKEN_FILL, 2
    return NOT_REACHED, colors.white, 0.8


def _wrap(content: str, width: float, size: float, max_lines: int) -> list[str]:
    """Lines at most `width` points wide, broken at spaces and, in Chinese text or a word too long
    for a line, between characters; the last line ends in … when the text needs more lines."""
    lines = []
    for line in simpleSplit(content, FONT, size, width):
        if pdfmetrics.stringWidth(line, FONT, size) <= width:
            lines.append(line)
        else:
            lines += [piece for _width, piece in wordSplit(line, [width], FONT, size)]
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and pdfmetrics.stringWidth(last + "…", FONT, size) > width:
        last = last[:-1]
    return [*lines[:max_lines - 1], last + "…"]


def _duration(spent: timedelta) -> str:
    """Time spent at a step, short: 25 min, 3.5 h, 2 d."""
    hours = spent.total_seconds() / 3600
    if hours < 1:
        return _("%(minutes)s min", minutes=round(hours * 60))
    if hours < 24:
        return _("%(hours)s h", hours=f"{hours:.1f}".removesuffix(".0"))
    return _("%(days)s d", days=f"{hours / 24:.1f}".removesuffix(".0"))
