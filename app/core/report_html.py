"""The self-contained HTML report of a recording (`python main.py report`, the Viewer's "Write report").

    html = report_html(title, facts, notes, figures, summary_rows)

One file that opens anywhere without a network: the figures are embedded as base64 PNG (`data:` URLs),
the style is inline, nothing is fetched. `facts` are (name, value) lines about the recording (file,
duration, faces, model, edits), `notes` what could not be read, `figures` (caption, PNG bytes) in
order, and the summary rows those of `segment_summary.summarize_segments`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from app.core.segment_summary import SUMMARY_COLUMNS, summary_cell

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.8em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td.text { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
.notes li { color: #8a5300; } .scroll { overflow-x: auto; }
"""
TEXT_COLUMNS = ("face_label", "segment", "dominant_expression")


def png_data_url(png: bytes) -> str:
    """`png` as a data: URL an <img> shows without any file or network."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _summary_table(rows: Sequence[dict[str, object]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in SUMMARY_COLUMNS)
    body = []
    for row in rows:
        cells = "".join(
            f"<td{' class=text' if c in TEXT_COLUMNS else ''}>{html.escape(summary_cell(row[c]))}</td>"
            for c in SUMMARY_COLUMNS
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def report_html(
    title: str,
    facts: Sequence[tuple[str, str]],
    notes: Sequence[str],
    figures: Sequence[tuple[str, bytes]],
    summary_rows: Sequence[dict[str, object]],
) -> str:
    """The report page: title, facts, notes, every figure (embedded) and the summary table."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<table>"
        + "".join(
            f'<tr><th>{html.escape(k)}</th><td class="text">{html.escape(v)}</td></tr>' for k, v in facts
        )
        + "</table>",
    ]
    if notes:
        parts.append("<h2>What could not be read</h2><ul class=notes>")
        parts.extend(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append("</ul>")
    parts.append("<h2>Figures</h2>")
    for caption, png in figures:
        text = html.escape(caption)
        parts.append(
            f'<figure><img src="{png_data_url(png)}" alt="{text}"><figcaption>{text}</figcaption></figure>'
        )
    parts.append("<h2>Summary per face and segment</h2>")
    parts.append(_summary_table(summary_rows))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
