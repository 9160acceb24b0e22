"""`affectscope report`: the figures, the summary and an HTML report of a recording, without a window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.segment_summary import DEFAULT_SIGNAL, SIGNALS

NAME = "report"
HELP = "write the figures, the summary CSV and an HTML report of a recording (headless)"
DESCRIPTION = (
    "Read a session CSV recorded by the Live tab (or an `analyze` CSV of a video) with its annotation "
    "file (the Viewer's exclusions, labels, merges and named intervals) and write into --out: one PNG per "
    "figure (valence and arousal over time, each face's expressions, the circumplex of the whole "
    "recording and of each marker segment), summary.csv (per face and segment) and report.html, which "
    "embeds every figure and opens without a network. The recording is only read. Exit code 0 when the "
    "report was written, 1 when the CSV cannot be read or --out cannot be written, 130 when interrupted."
)
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def register(subparsers) -> None:
    """Add the `report` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    parser.add_argument(
        "csv", type=Path, metavar="SESSION.csv", help="the recording (session or analysis CSV)"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for the report (created when missing; earlier report files are replaced)",
    )
    parser.add_argument(
        "--signal",
        choices=tuple(SIGNALS),
        default=DEFAULT_SIGNAL,
        help="which V/A columns the figures and the summary use: the model's output, the "
        f"smoothed or the baseline-corrected values (default {DEFAULT_SIGNAL})",
    )
    parser.add_argument("--svg", action="store_true", help="also write every figure as SVG")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; prints one line per step."""
    from app.core.session_table import SessionFileError
    from app.gui.app import offscreen_application

    offscreen_application()
    from app.gui.session_report import FORMATS, write_report

    formats = FORMATS if args.svg else FORMATS[:1]
    steps = write_report(args.csv, args.out, args.signal, formats)
    try:
        while True:
            print(next(steps), flush=True)
    except StopIteration as done:
        print(
            f"wrote {len(done.value.figures)} figure file(s), {done.value.summary_csv.name} and "
            f"{done.value.html}"
        )
        return EXIT_OK
    except KeyboardInterrupt:
        print("affectscope report: interrupted; the files written so far are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (SessionFileError, ValueError, OSError) as exc:
        print(f"affectscope report: {exc}", file=sys.stderr)
        return EXIT_FAILED
