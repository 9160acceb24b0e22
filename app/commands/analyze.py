"""`affectscope analyze`: analyse image, folder and video files into a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.settings import (
    CROPS_HELP,
    DEFAULT_MAX_STD,
    DETECTOR_HELP,
    DETECTORS,
    SHARED_FILES_HELP,
    VIDEO_SEARCH_HELP,
    DetectionSettings,
)

NAME = "analyze"
HELP = "analyse image, folder and video files into a CSV"
DESCRIPTION = (
    "Detect faces in images, folders (searched recursively) and video files, run the model on each face "
    "and write one CSV row per face (per frame for videos) with the session CSV columns plus source_path "
    "and error. A file that cannot be read gets a row with `error` filled and the run continues. "
    "The CSV is written beside --out and put in its place when the run ends; an interrupted run keeps its "
    "rows in OUT.partial.csv and leaves an earlier OUT untouched. "
    "Exit code 0 when every file was read (images without a face included), 2 when some could not be "
    "read or decoded, 1 when nothing could run (no model or detector, no input file, --out cannot be "
    "written, the disk is full), 130 when interrupted."
)
EXIT_OK, EXIT_FATAL, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers) -> None:
    """Add the `analyze` subcommand to `subparsers`."""
    from model.runtimes import DEFAULT_DEVICE, DEFAULT_RUNTIME, DEVICE_HELP, DEVICES, RUNTIME_HELP, RUNTIMES

    parser = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or video files")
    parser.add_argument("--out", required=True, type=Path,
                        help="CSV file to write (replaced when the run ends)")
    parser.add_argument("--model", default=None,
                        help="model checkpoint (.pt) or ONNX export (.onnx); default: the bundled model; "
                             "'untrained' for random weights")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME,
                        help=f"{RUNTIME_HELP} (default {DEFAULT_RUNTIME})")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE, help=DEVICE_HELP)
    parser.add_argument("--save-annotated", type=Path, default=None, metavar="DIR",
                        help="write annotated images (.jpg) and videos (.avi) with boxes, labels and the "
                             "fused attention heatmap to DIR")
    defaults = DetectionSettings()
    parser.add_argument("--max-faces", type=int, default=defaults.max_faces,
                        help=f"most faces per image or frame (default {defaults.max_faces})")
    parser.add_argument("--min-confidence", type=float, default=defaults.min_confidence,
                        help="minimum face detector confidence in [0, 1] "
                             f"(default {defaults.min_confidence})")
    parser.add_argument("--detector", choices=DETECTORS, default=defaults.detector,
                        help=f"{DETECTOR_HELP} (default {defaults.detector})")
    parser.add_argument("--video-search-every", type=float, default=defaults.video_search_s, metavar="S",
                        help=f"{VIDEO_SEARCH_HELP} (default {defaults.video_search_s:g})")
    parser.add_argument("--crops", action="store_true", help=CROPS_HELP)
    parser.add_argument("--good-quality-only", action="store_true",
                        help="leave out the rows of faces whose quality verdict is low (small, blurred, "
                             "dark, bright or tilted; the summary line says how many)")
    parser.add_argument("--max-std", type=float, default=None, metavar="SD",
                        help="leave out the rows where the model's predicted standard deviation of valence "
                             "or arousal is above SD (needs a model with an uncertainty head, as the "
                             f"bundled one; e.g. {DEFAULT_MAX_STD:g})")
    parser.add_argument("--shared-files", action="store_true", help=SHARED_FILES_HELP)
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    """Print one error line and return the 'nothing could run' exit code."""
    print(f"affectscope analyze: {message}", file=sys.stderr)
    return EXIT_FATAL


def run(args: argparse.Namespace) -> int:
    """Analyse `args.paths` into `args.out`; returns the exit code."""
    from tqdm import tqdm

    from app.core.analysis import analyze_paths, collect_files
    from app.core.detection import DetectorError
    from app.core.face_finder import FaceFinder
    from app.core.model_store import open_predictor
    from app.core.results_file import ResultsFile, ResultsWriteError
    from app.core.row_filter import RowFilter
    from app.core.settings import OutputSettings

    if not args.video_search_every >= 0:
        return _fail(f"--video-search-every must be >= 0 seconds (got {args.video_search_every}); "
                     "0 turns the thorough search of video frames off")
    try:
        detection = DetectionSettings(args.detector, args.min_confidence, args.max_faces, crops=args.crops,
                                      video_search_s=args.video_search_every)
    except ValueError:
        return _fail(f"--max-faces must be >= 1 and --min-confidence in [0, 1] "
                     f"(got {args.max_faces}, {args.min_confidence})")
    try:
        rule = RowFilter(args.good_quality_only, args.max_std)
    except ValueError as exc:
        return _fail(f"--max-std: {exc}")
    if args.out.is_dir():
        return _fail(f"--out {args.out} is a folder; name the CSV file to write, "
                     f"e.g. {args.out / 'results.csv'}")
    # Everything that can fail before the first row is checked first: nothing is written until then.
    if not collect_files(args.paths):
        return _fail("no image or video files found in the given paths; name image files (.jpg, .png, ...), "
                     "videos or folders that hold them")
    try:
        predictor = open_predictor(args.model, runtime=args.runtime, device=args.device)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot open the model: {exc}")
    try:
        if not detection.crops:  # face crops need no detector
            FaceFinder(detection.plan(still=True)).close()
    except DetectorError as exc:
        return _fail(f"cannot create the face detector: {exc}")
    if rule.max_std is not None and not predictor.has_uncertainty:
        return _fail(f"--max-std needs a model with an uncertainty head; {predictor.name} has none (train "
                     "one with `train --va-uncertainty`, or leave --max-std out)")
    if predictor.untrained:
        print("affectscope analyze: NOTICE: the model is UNTRAINED (random weights), so valence, arousal "
              "and expressions below carry no meaning.", file=sys.stderr)
    try:
        results = ResultsFile(args.out, permissions=OutputSettings(args.shared_files).permissions())
    except ResultsWriteError as exc:
        return _fail(f"{exc}; choose another --out")

    failed, n_files, left_out = [], 0, 0
    progress = None
    try:
        for event in analyze_paths(args.paths, predictor, detection=detection,
                                   save_annotated_dir=args.save_annotated):
            if event.kind == "started":
                n_files = event.total_files
                progress = tqdm(total=n_files, unit="file", file=sys.stderr, desc="analyze")
            elif event.kind == "result":
                rows = [r for r in event.rows if not (rule.active and rule.drops_row(r))]
                left_out += len(event.rows) - len(rows)
                results.write_rows(rows)
                if event.frame_index is not None:
                    progress.set_postfix_str(f"{event.path.name} frame {event.frame_index}")
            elif event.kind == "file_done":
                if not event.ok:
                    failed.append(event.error)
                progress.update(1)
    except KeyboardInterrupt:
        _close(progress)
        kept = results.keep_partial()
        where = f"{results.rows} rows kept in {kept}" if kept else "no row was analysed"
        print(f"affectscope analyze: interrupted; {where}; {args.out} was not changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ResultsWriteError, DetectorError) as exc:
        _close(progress)
        kept = results.keep_partial()
        where = f"the {results.rows} complete rows are kept in {kept}" if kept else "no row was kept"
        print(f"affectscope analyze: {exc}; {where}; {args.out} was not changed", file=sys.stderr)
        return EXIT_FATAL
    except BaseException:
        _close(progress)
        results.keep_partial()
        raise
    _close(progress)
    results.finish()
    dropped = f", {left_out} rows left out ({_rule_text(rule)})" if rule.active else ""
    print(f"affectscope analyze: {n_files} files, {len(failed)} could not be read, {results.rows} rows "
          f"-> {args.out}{dropped}", file=sys.stderr)
    for message in failed:
        print(f"  - {message}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _rule_text(rule) -> str:
    """What a RowFilter leaves out, in words."""
    parts = (["low quality"] if rule.good_quality_only else []) + (
        [f"SD above {rule.max_std:g}"] if rule.max_std is not None else [])
    return " or ".join(parts)


def _close(progress) -> None:
    """Close the progress bar when there is one."""
    if progress is not None:
        progress.close()
