"""The report of a recording: every figure as PNG (and SVG on request), the summary CSV and one
self-contained HTML page. `python main.py report` and the Viewer's "Write report…" both run it.

    for line in report_from_view(view, out_dir):   # the Viewer: the recording it has open
        ...
    files = yield from write_report(csv_path, out_dir, signal)   # the CLI: reads the CSV first

Figures are drawn with Qt (offscreen for the CLI), so this runs in the GUI thread; it is a generator
that yields one line per step, and the caller may stop iterating between steps to cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyqtgraph as pg

from app.core.report_html import report_html
from app.core.segment_summary import (
    DEFAULT_SIGNAL,
    interval_segments,
    marker_segments,
    recording_span,
    summarize_segments,
    write_summary_csv,
)
from app.core.session_annotations import annotations_path, load_annotations
from app.core.session_table import LoadDone, read_session
from app.core.session_video import find_video
from app.gui.widgets.session_figures import (
    SIGNAL_TITLES,
    CircumplexFigure,
    ExpressionFigure,
    SessionView,
    ValenceArousalFigure,
    render_copy,
)
from model.io import write_text_atomic

VA_SIZE = (1400, 600)  # px of each figure in the report (a PNG holds twice as many, plot_export)
EXPRESSION_SIZE = (1400, 380)
CIRCUMPLEX_SIZE = (700, 700)
FORMATS = ("png", "svg")  # PNG always (the HTML embeds it), SVG on request
HTML_NAME = "report.html"
SUMMARY_NAME = "summary.csv"


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: its file stem, caption, class, size (w, h px) and how to draw it."""

    stem: str
    caption: str
    kind: type[pg.GraphicsView]
    size: tuple[int, int]
    draw: Callable[[pg.GraphicsView], None]


@dataclass
class ReportFiles:
    """What a report wrote."""

    html: Path
    summary_csv: Path
    figures: list[Path] = field(default_factory=list)


def report_segments(view: SessionView) -> list:
    """The summary's segments: the whole recording, marker to marker, then the named intervals."""
    return marker_segments(view.table) + interval_segments(view.table, view.annotations)[1:]


def report_figures(view: SessionView) -> list[FigureSpec]:
    """The figures of a report: V/A over time, each face's expressions, the circumplex of the whole
    recording and of each marker segment."""
    start, end = recording_span(view.table)
    specs = [
        FigureSpec(
            "valence_arousal",
            f"Valence and arousal of every face ({SIGNAL_TITLES[view.signal]}), with markers and "
            "excluded ranges",
            ValenceArousalFigure,
            VA_SIZE,
            lambda figure: figure.draw(view),
        )
    ]
    for face in view.faces():
        specs.append(
            FigureSpec(
                f"expressions_face{face}",
                f"Expression probabilities of {view.name(face)}, stacked",
                ExpressionFigure,
                EXPRESSION_SIZE,
                lambda figure, face=face: figure.draw(view, face),
            )
        )
    spans = [("whole recording", start, end)]
    if view.table.markers():
        spans += [(s.name, s.start_s, s.end_s) for s in marker_segments(view.table)[1:]]
    for k, (name, t0, t1) in enumerate(spans):
        specs.append(
            FigureSpec(
                "circumplex_whole" if k == 0 else f"circumplex_segment{k}",
                f"Circumplex, {name} ({t0:.1f}-{t1:.1f} s): density, trajectories and zone shares",
                CircumplexFigure,
                CIRCUMPLEX_SIZE,
                lambda figure, t0=t0, t1=t1: figure.draw(view, t0, t1),
            )
        )
    return specs


def report_facts(view: SessionView) -> list[tuple[str, str]]:
    """(name, value) lines about the recording for the top of the report."""
    table, annotations = view.table, view.annotations
    sidecar = table.sidecar or {}
    model = sidecar.get("model") or {}
    excluded_s = sum(r.end_s - r.start_s for r in annotations.excluded)
    facts = [
        ("file", str(table.path)),
        ("kind", "live session" if table.kind == "session" else "analysis of a video"),
        ("recorded", str(sidecar.get("start_time", "unknown (no sidecar)"))),
        ("participant", str(sidecar.get("participant") or "-")),
        ("model", f"{model.get('name', 'unknown')} (V/A {model.get('va_source', 'unknown')})"),
        ("duration", f"{table.duration_s:.1f} s, {len(table)} rows"),
        ("faces", ", ".join(view.name(f) for f in view.faces()) or "none"),
        ("markers", ", ".join(f"{t:.1f} s {text}" for t, text in table.markers()) or "none"),
        ("signal", SIGNAL_TITLES[view.signal]),
        (
            "edits",
            f"{len(annotations.excluded)} excluded range(s) ({excluded_s:.1f} s), {len(annotations.merges)} "
            f"merge(s), {len(annotations.labels)} label(s), {len(annotations.intervals)} named interval(s)"
            f" — from {annotations_path(table.path).name}",
        ),
        ("video", str(find_video(table).path or "none")),
    ]
    return facts


def report_from_view(
    view: SessionView, out_dir: str | Path, formats: Sequence[str] = ("png",)
) -> Iterator[str]:
    """Write the report of `view` into `out_dir`, yielding a line per step; returns ReportFiles."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder for the report (it is created when missing)")
    out.mkdir(parents=True, exist_ok=True)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or "png" not in formats:
        raise ValueError(f"figure formats must include png and be among {FORMATS}, got {list(formats)}")
    recording = view.table.path.resolve()
    for name in (HTML_NAME, SUMMARY_NAME):
        if (out / name).resolve() in (recording, annotations_path(recording)):
            raise ValueError(f"{out / name} is the recording itself; write the report to another folder")
    rows = summarize_segments(view.table, view.annotations, report_segments(view), view.signal)
    files = ReportFiles(html=out / HTML_NAME, summary_csv=write_summary_csv(rows, out / SUMMARY_NAME))
    yield f"summary: {len(rows)} rows -> {files.summary_csv}"
    embedded = []
    specs = report_figures(view)
    for k, spec in enumerate(specs):
        for suffix in formats:
            path = render_copy(spec.kind, spec.draw, spec.size, out / f"{spec.stem}.{suffix}")
            files.figures.append(path)
            if suffix == "png":
                embedded.append((spec.caption, path.read_bytes()))
        yield f"figure {k + 1}/{len(specs)}: {spec.stem}"
    title = f"AffectScope report: {view.table.path.name}"
    page = report_html(title, report_facts(view), view.table.notes, embedded, rows)
    write_text_atomic(files.html, page)
    yield f"report: {files.html}"
    return files


def write_report(
    csv_path: str | Path,
    out_dir: str | Path,
    signal: str = DEFAULT_SIGNAL,
    formats: Sequence[str] = ("png",),
) -> Iterator[str]:
    """Read `csv_path` with its annotation file, then write its report (see `report_from_view`); returns
    ReportFiles. SessionFileError when the CSV cannot be read."""
    table = None
    for event in read_session(csv_path):
        if isinstance(event, LoadDone):
            table = event.table
    annotations, note = load_annotations(csv_path)
    if note:
        table.notes.append(note)
    yield f"read {table.path.name}: {len(table)} rows, {len(table.face_list())} face(s)"
    return (yield from report_from_view(SessionView(table, annotations, signal), out_dir, formats))
