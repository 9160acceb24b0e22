"""`affectscope gui`: launch the desktop application (default).

The options preset the window for demonstrations and automation, e.g.
`python main.py gui --source clip.mp4 --record out/session.csv --exit-after 20` plays a video, records
it and closes cleanly (the recording's summary is written on close).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.runtimes import DEVICE_HELP, DEVICES, RUNTIME_HELP, RUNTIMES

NAME = "gui"
HELP = "launch the desktop application (default)"
DESCRIPTION = (
    "Open the AffectScope window. Without options it restores the last session's choices. --source "
    "starts the Live tab at once; --record starts a recording as soon as the source runs; --exit-after "
    "closes the window cleanly after that many seconds; --open shows a recorded session in the Viewer "
    "tab. Exit code 2 when no display is available."
)


def register(subparsers) -> None:
    """Add the `gui` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    parser.add_argument("--source", metavar="FILE_OR_INDEX",
                        help="start the Live tab on a video file, an image file or folder, a camera index "
                             "(0, 1, ...) or 'demo' (built-in faces, no camera needed)")
    parser.add_argument("--record", type=Path, metavar="OUT.csv",
                        help="record the session to this CSV (needs --source); sidecars go beside it")
    parser.add_argument("--exit-after", type=float, metavar="SECONDS",
                        help="close the window after SECONDS (ends a recording and writes its summary)")
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="model checkpoint (.pt) or ONNX export (.onnx); default: the last one used")
    parser.add_argument("--runtime", choices=RUNTIMES, help=RUNTIME_HELP)
    parser.add_argument("--device", choices=DEVICES, help=DEVICE_HELP)
    parser.add_argument("--open", type=Path, metavar="SESSION.csv", dest="open_session",
                        help="open a recorded session (or an analyze CSV) in the Viewer tab")
    parser.add_argument("--settings", type=Path, metavar="FILE.ini",
                        help="use this settings file instead of the user's (for automation)")
    parser.add_argument("--startup-report", type=Path, metavar="OUT.json", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the options, then run the GUI; returns its exit code."""
    if args.record is not None and args.source is None:
        print("affectscope gui: --record needs --source (what to record)", file=sys.stderr)
        return 2
    if args.exit_after is not None and args.exit_after <= 0:
        print(f"affectscope gui: --exit-after must be > 0 seconds, got {args.exit_after}", file=sys.stderr)
        return 2
    if args.open_session is not None and not args.open_session.is_file():
        print(f"affectscope gui: {args.open_session} does not exist; pass a session CSV recorded by the Live "
              "tab or written by `analyze`", file=sys.stderr)
        return 2
    if args.model is not None and not args.model.is_file():
        print(f"affectscope gui: model file {args.model} does not exist; pass a .pt checkpoint or an "
              ".onnx export", file=sys.stderr)
        return 2
    from app.gui.app import GuiOptions, run_gui

    return run_gui(GuiOptions(source=args.source, record=args.record, exit_after_s=args.exit_after,
                              model=args.model, runtime=args.runtime, device=args.device,
                              settings_file=args.settings, open_session=args.open_session,
                              startup_report=args.startup_report))
