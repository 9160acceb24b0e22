"""`affectscope stream`: the live pipeline without a window (a lab PC in a rack, or a second machine).

Reads a camera or a video file, optionally streams the results over Lab Streaming Layer (`--lsl`) and
records the session CSV (`--record`), and shows one status line (fps, faces, LSL consumers). Ctrl-C
(or `--seconds`, or the end of a video that does not loop) stops it cleanly: the recording is closed
and summarised, every processed frame in it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from app.core.settings import LSL_HELP, SAVE_VIDEO_HELP, SHARED_FILES_HELP, LslSettings, OutputSettings
from model.runtimes import DEFAULT_DEVICE, DEFAULT_RUNTIME, DEVICE_HELP, DEVICES, RUNTIME_HELP, RUNTIMES

NAME = "stream"
HELP = "run the live pipeline headless: LSL outlet, recording, status line"
EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers) -> None:
    """Add the `stream` subcommand to `subparsers`."""
    lsl = LslSettings()
    parser = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--source", required=True, metavar="CAMERA_INDEX|VIDEO",
                        help="a camera index (0, 1, ...), a video file, or 'demo'")
    parser.add_argument("--lsl", action="store_true", help=LSL_HELP)
    parser.add_argument("--lsl-name", default=lsl.stream_name,
                        help=f"LSL stream name (default {lsl.stream_name})")
    parser.add_argument("--lsl-slots", type=int, default=lsl.face_slots,
                        help=f"faces per LSL sample (default {lsl.face_slots})")
    parser.add_argument("--markers-from", metavar="STREAM_NAME",
                        help="also write the markers of this LSL marker stream into the recording")
    parser.add_argument("--record", type=Path, metavar="OUT.csv", help="record the session to this CSV")
    parser.add_argument("--participant", default="", help="participant label written to the recording")
    parser.add_argument("--save-video", action="store_true", default=OutputSettings().save_video,
                        help=SAVE_VIDEO_HELP)
    parser.add_argument("--loop", action="store_true", help="start a video file again at its end")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--model", default=None, help="model checkpoint or ONNX export (default: bundled)")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME, help=RUNTIME_HELP)
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE, help=DEVICE_HELP)
    parser.add_argument("--shared-files", action="store_true", help=SHARED_FILES_HELP)
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"affectscope stream: {message}", file=sys.stderr)
    return EXIT_FAILED


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C, --seconds or the end of the source; returns the exit code."""
    from app.core.lsl import LslLink, list_marker_streams
    from app.core.packets import PipelineState
    from app.core.pipeline import LivePipeline, PipelineError, PipelineSettings
    from app.core.recorder import RecorderError
    from app.core.sources import make_source, source_spec_from_arg

    try:
        lsl_settings = LslSettings(enabled=args.lsl, stream_name=args.lsl_name, face_slots=args.lsl_slots)
        source = make_source(source_spec_from_arg(args.source), loop=args.loop)
    except ValueError as exc:
        return _fail(str(exc))
    if args.seconds is not None and args.seconds <= 0:
        return _fail(f"--seconds must be > 0, got {args.seconds}")
    errors: list[str] = []
    ended = threading.Event()
    faces_now = [0]

    def on_event(event) -> None:
        if event.kind == "error":
            errors.append(event.message)
            ended.set()
        elif event.kind == "state" and event.state in (PipelineState.STOPPED, PipelineState.FAULTED):
            ended.set()
        elif event.kind == "warning" or (event.kind == "info" and event.message.startswith("finished")):
            print(f"\naffectscope stream: {event.message}", file=sys.stderr)
        link.on_event(event)  # recording start/stop as LSL markers (nothing while LSL is off)

    pipeline = LivePipeline(on_event=on_event, model_path=args.model, runtime=args.runtime,
                            device=args.device, settings=PipelineSettings(shared_files=args.shared_files))
    pipeline.add_publisher(lambda packet: faces_now.__setitem__(0, len(packet.faces)))
    link = LslLink(pipeline, lambda message: print(f"\naffectscope stream: {message}", file=sys.stderr))
    summary = None
    try:
        if lsl_settings.enabled:
            link.enable(lsl_settings)
        pipeline.start(source)
        if not pipeline.wait_ready(120.0):
            return _fail(errors[0] if errors else f"the pipeline did not start: {pipeline.fault}")
        if args.markers_from:
            found = [c for c in list_marker_streams(2.0) if c.name == args.markers_from]
            if not found:
                return _fail(f"no LSL marker stream named {args.markers_from!r} answered; streams seen: "
                             f"{', '.join(c.describe() for c in list_marker_streams(1.0)) or 'none'}")
            link.listen(found[0])
        if args.record is not None:
            path = pipeline.start_recording(args.record, participant=args.participant,
                                              save_video=args.save_video)
            print(f"affectscope stream: recording to {path}", file=sys.stderr)
        started = time.monotonic()
        while not ended.is_set():
            if args.seconds is not None and time.monotonic() - started >= args.seconds:
                break
            stats = pipeline.stats
            lsl = f", {link.status()}" if link.enabled else ""
            print(f"\rfps {stats.processing_fps:5.1f}  faces {faces_now[0]:2d}  "
                  f"dropped {stats.dropped_frames}{lsl}   ", end="", file=sys.stderr, flush=True)
            ended.wait(0.5)
    except KeyboardInterrupt:
        print("\naffectscope stream: stopping (Ctrl-C)", file=sys.stderr)
    except (PipelineError, RecorderError, OSError, RuntimeError) as exc:
        errors.append(str(exc))
    finally:
        link.stop_listening(wait=True)  # no marker arrives after the recording closes
        summary = pipeline.stop_recording() if pipeline.is_recording else None
        pipeline.stop()
        link.close()
    print("", file=sys.stderr)
    if summary is not None:
        print(f"affectscope stream: recording closed: {summary.get('n_frames', 0)} frames", file=sys.stderr)
    if errors:
        return _fail(errors[0])
    return EXIT_OK
