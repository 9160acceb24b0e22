"""`affectscope analyze`: analyse image, folder and video files into a CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "analyze"
HELP = "analyse image, folder and video files into a CSV"
DESCRIPTION = (
    "Detect faces in images, folders (searched recursively) and video files, run the model on each face "
    "and write one CSV row per face (per frame for videos) with the session CSV columns plus source_path "
    "and error. A file that cannot be read gets a row with `error` filled and the run continues. "
    "Exit code 0 when every file was read (images without a face included), 2 when some could not be "
    "read or decoded, 1 when nothing could run (no model, unwritable --out)."
)
EXIT_OK, EXIT_FATAL, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers) -> None:
    """Add the `analyze` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or video files")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write (replaced if it exists)")
    parser.add_argument("--model", default=None,
                        help="model checkpoint (.pt) or ONNX export (.onnx); default: the bundled model")
    parser.add_argument("--runtime", choices=("torch", "onnx"), default="torch", help="inference runtime")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--save-annotated", type=Path, default=None, metavar="DIR",
                        help="write annotated images (.jpg) and videos (.avi) with boxes, labels and the "
                             "fused attention heatmap to DIR")
    parser.add_argument("--max-faces", type=int, default=4, help="most faces per image or frame (default 4)")
    parser.add_argument("--min-confidence", type=float, default=0.5,
                        help="minimum face detector confidence in [0, 1] (default 0.5)")
    parser.add_argument("--detector", choices=("short", "full"), default="short",
                        help="face detector model: short range (default) or full range (small, far faces)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse `args.paths` into `args.out`; returns the exit code."""
    from tqdm import tqdm

    from app.core.analysis import analysis_csv_writer, analyze_paths
    from app.core.model_store import open_predictor

    if args.max_faces < 1 or not 0.0 <= args.min_confidence <= 1.0:
        print(f"affectscope analyze: --max-faces must be >= 1 and --min-confidence in [0, 1] "
              f"(got {args.max_faces}, {args.min_confidence})", file=sys.stderr)
        return EXIT_FATAL
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out_file = args.out.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        print(f"affectscope analyze: cannot write {args.out}: {exc.strerror or exc}; choose another --out",
              file=sys.stderr)
        return EXIT_FATAL
    with out_file:
        try:
            predictor = open_predictor(args.model, runtime=args.runtime, device=args.device)
        except (OSError, ValueError) as exc:
            print(f"affectscope analyze: cannot open the model: {exc}", file=sys.stderr)
            out_file.close()
            args.out.unlink(missing_ok=True)  # nothing was analysed: leave no empty results file
            return EXIT_FATAL
        if predictor.untrained:
            print("affectscope analyze: NOTICE: the model is UNTRAINED (random weights), so valence, arousal "
                  "and expressions below carry no meaning. Pass --model with a trained checkpoint.",
                  file=sys.stderr)
        writer = analysis_csv_writer(out_file)
        failed, n_rows, n_files = [], 0, 0
        progress = tqdm(total=0, unit="file", file=sys.stderr, desc="analyze")
        try:
            for event in analyze_paths(args.paths, predictor, detector_model=args.detector,
                                       min_confidence=args.min_confidence, max_faces=args.max_faces,
                                       save_annotated_dir=args.save_annotated):
                if event.kind == "started":
                    n_files = progress.total = event.total_files
                    progress.refresh()
                elif event.kind == "result":
                    writer.writerows(event.rows)
                    out_file.flush()
                    n_rows += len(event.rows)
                    if event.frame_index is not None:
                        progress.set_postfix_str(f"{event.path.name} frame {event.frame_index}")
                elif event.kind == "file_done":
                    if not event.ok:
                        failed.append(event.error)
                    progress.update(1)
        except KeyboardInterrupt:
            progress.close()
            print(f"affectscope analyze: interrupted; {n_rows} rows kept in {args.out}", file=sys.stderr)
            return EXIT_INTERRUPTED
        progress.close()
    if n_files == 0:
        print("affectscope analyze: no image or video files found in the given paths", file=sys.stderr)
        return EXIT_SOME_FAILED
    print(f"affectscope analyze: {n_files} files, {len(failed)} could not be read, {n_rows} rows "
          f"-> {args.out}", file=sys.stderr)
    for message in failed:
        print(f"  - {message}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK
