"""`affectscope bench`: measure model and pipeline speed.

`--pipeline` times the live path end to end (detect, track, crop, model, smoothing) on generated videos
with 1 and 4 faces, through the real LivePipeline and stage by stage; see app/core/bench/pipeline.py.
`--training` times the default recipe's optimiser steps (model/diagnostics/train_throughput.py).
`--detection` measures face recall per width, precision and time per frame of every detector plan on
generated scenes (app/core/bench/detection.py).
`--tracking` runs the live default on generated sequences with known identities (moving, crossing,
occluded, far and leaving faces) and counts id switches, fragments and recall (app/core/bench/tracking.py).
`--reid` measures the face descriptor's true and false match rates on the shipped faces
(app/core/bench/reid.py), which set the re-identification threshold.
`--soak` runs the live path with the session recorder for minutes on a looping 4-face video and reports
memory growth and lost rows (app/core/bench/soak.py).
`--lsl` measures capture-to-inlet latency over Lab Streaming Layer and fps with the outlet on and off
(app/core/bench/lsl.py).
`--quality` sweeps the shipped faces through size, blur, light and tilt and finds where the model's
reading moves too far: the face-quality thresholds (app/core/bench/quality.py).
`--uncertainty` checks whether a predicted V/A standard deviation ranks the errors: the uncertainty head
trained on the noisy-label synthetic fixture, the default model's head on the held-out real faces, and
test-time augmentation's spread (app/core/bench/uncertainty.py).
`--calibration` measures the expected calibration error of the default model's expression probabilities
on the held-out real faces, before and after temperature scaling (model/calibration.py).
`--viewer` opens a generated hour-long 4-face session in the Viewer tab offscreen and times opening,
scrolling and scrubbing (app/gui/viewer_bench.py).
`--model-only` times the network alone (a normalised batch in, the outputs out) for every backbone at
112/160/224 px, batch 1 and 8, in torch eager and in onnxruntime, plus the reference EfficientNet-B0
classifier (HSEmotion's network: standard B0, 1000-class head, random weights) at 224 px, batch 1.
The headline ratios (default model vs reference, onnxruntime vs torch) come from one interleaved block,
so a busy machine slows every contender alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.bench.model_speed import (
    DEFAULT_REPEATS,
    QUICK_REPEATS,
    format_model_report,
    machine_info,
    run_model_bench,
)
from model.runtimes import DEFAULT_DEVICE, DEVICES, ENGINES

NAME = "bench"
SOAK_MINUTES = 8.0  # --soak's default length
UNCERTAINTY_MINUTES = 10.0  # --uncertainty's default training time on the noisy-label fixture
HELP = "measure model and pipeline speed"

def register(subparsers) -> None:
    """Add the `bench` subcommand to `subparsers`."""
    parser = subparsers.add_parser(NAME, help=HELP, description=HELP)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--model-only",
        action="store_true",
        help="time the network alone: every backbone at 112/160/224 px, batch 1 and 8, torch vs onnxruntime, "
        "and the reference EfficientNet-B0",
    )
    mode.add_argument(
        "--pipeline",
        action="store_true",
        help="time the live path end to end (default model, this CPU, torch and onnx) with 1 and 4 faces",
    )
    mode.add_argument(
        "--training",
        action="store_true",
        help="images/s of the default recipe's training steps (both stages, synthetic faces, 112 px)",
    )
    mode.add_argument(
        "--detection",
        action="store_true",
        help="face recall per width bucket, precision and ms per frame of every detector plan, on generated "
        "group scenes and close-ups",
    )
    mode.add_argument(
        "--tracking",
        action="store_true",
        help="id switches, fragments and recall of the live default on generated sequences (moving, "
        "crossing, occluded, far and leaving faces)",
    )
    mode.add_argument(
        "--reid",
        action="store_true",
        help="true and false match rates of the re-identification descriptor on the shipped faces, per "
        "threshold and condition",
    )
    mode.add_argument(
        "--soak",
        action="store_true",
        help="the live path with the recorder on a looping 4-face video for --minutes: memory growth and "
        "rows lost (the default model and runtime)",
    )
    mode.add_argument(
        "--lsl",
        action="store_true",
        help="capture-to-inlet latency (p50/p95) of the LSL outlet and the live fps with it on and off, "
        "in alternating blocks of --block-seconds",
    )
    mode.add_argument(
        "--startup",
        action="store_true",
        help="seconds from launching `main.py gui` to the window and to the remembered model being named "
        "(offscreen, --launches times); goal: the window in under 3 s",
    )
    mode.add_argument(
        "--quality",
        action="store_true",
        help="the face-quality thresholds: how far the default model's reading of the shipped faces moves "
        "as they get smaller, blurred, dimmer, brighter and tilted",
    )
    mode.add_argument(
        "--uncertainty",
        action="store_true",
        help="whether a predicted V/A standard deviation ranks the errors (Spearman, RMSE at 80%% "
        "coverage): a model trained for --minutes with the uncertainty head on synthetic faces with known "
        "label noise, the default model's head on the held-out real faces, and test-time augmentation",
    )
    mode.add_argument(
        "--calibration",
        action="store_true",
        help="expected calibration error of the default model's expression probabilities on the 103 "
        "held-out real faces (the teacher ensemble's top class as the label), before and after "
        "temperature scaling (cross-fitted)",
    )
    mode.add_argument(
        "--viewer",
        action="store_true",
        help="open a generated 1-hour, 30 fps, 4-face session (432k rows) in the Viewer tab (offscreen): "
        "seconds to open, ms per scroll and scrub step; goals: open < 5 s, a scroll step < 50 ms",
    )
    parser.add_argument("--launches", type=int, default=5, help="--startup only: launches (default 5)")
    parser.add_argument("--block-seconds", type=float, default=10.0,
                        help="--lsl only: length of each of the 8 outlet-off/outlet-on blocks (default 10)")
    parser.add_argument(
        "--minutes",
        type=float,
        help=f"--soak: how long (default {SOAK_MINUTES:g}); --uncertainty: training on the fixture "
        f"(default {UNCERTAINTY_MINUTES:g})",
    )
    parser.add_argument("--frames", type=int, default=None, metavar="N",
                        help="--soak only: stop after N processed frames (e.g. 100000)")
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default=DEFAULT_DEVICE,
        help=f"--training only: where to train (default {DEFAULT_DEVICE})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="--training only: DataLoader processes (default 1)",
    )
    parser.add_argument(
        "--model",
        default=None,
        metavar="PATH",
        help="--quality, --uncertainty and --calibration: the model to measure (.pt or .onnx; default: the "
        "bundled model)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results (with machine info) as JSON")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        metavar="N",
        help=f"timed runs per case (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads for torch and onnxruntime alike (default: torch's default for this machine)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"only the default backbone at 112 px with {QUICK_REPEATS} repeats (a smoke test)",
    )
    parser.add_argument(
        "--video-file",
        action="store_true",
        help="with --tracking: find the faces as `analyze` does in a video file, instead of the live view",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark, print its table, write --json; 0 on success, 2 on bad options."""
    from app.commands.threads import set_torch_threads

    try:
        set_torch_threads(args.threads)  # onnxruntime sessions here take the same count
    except ValueError as exc:
        print(f"affectscope bench: {exc}", file=sys.stderr)
        return 2
    if args.pipeline:
        return run_pipeline(args)
    if args.training:
        return run_training(args)
    if args.soak:
        return run_soak_command(args)
    if args.detection:
        return run_detection_command(args)
    if args.tracking:
        return run_tracking_command(args)
    if args.reid:
        return run_reid_command(args)
    if args.lsl:
        return run_lsl_command(args)
    if args.startup:
        return run_startup_command(args)
    if args.viewer:
        return run_viewer_command(args)
    measures = {"quality": run_quality_command, "uncertainty": run_uncertainty_command,
                "calibration": run_calibration_command}
    for name, command in measures.items():
        if getattr(args, name):
            from app.core.model_store import open_predictor

            try:
                predictor = open_predictor(args.model)
            except (OSError, ValueError) as exc:
                print(f"affectscope bench: cannot open the model {args.model}: {exc}", file=sys.stderr)
                return 2
            return command(args, predictor)
    if args.model is not None:
        print("affectscope bench: --model goes with --quality, --uncertainty or --calibration",
              file=sys.stderr)
        return 2
    repeats = args.repeats if args.repeats is not None else (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    if repeats < 1:
        print(f"affectscope bench: --repeats must be >= 1, got {repeats}", file=sys.stderr)
        return 2
    report = run_model_bench(repeats=repeats, quick=args.quick, progress=lambda m: print(m, flush=True))
    print(format_model_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_pipeline(args: argparse.Namespace) -> int:
    """`--pipeline`: the live path on generated 1- and 4-face videos (`--quick`: torch only, shorter)."""
    from app.core.bench.pipeline import markdown_table, run_pipeline_benchmark
    from app.core.model_store import open_predictor

    report = run_pipeline_benchmark(
        lambda runtime: open_predictor(None, runtime=runtime, device="cpu"),
        runtimes=("torch",) if args.quick else ENGINES,
        seconds=2.0 if args.quick else 6.0,
        progress=lambda m: print(m, flush=True),
    )
    if not args.quick:
        report["switch"] = _runtime_switch(progress=lambda m: print(m, flush=True))
        sw = report["switch"]
        print(f"runtime switch torch -> auto while live (4 faces, ONNX export included): "
              f"{sw['fps_after_switch']:.1f} fps over {sw['window_s']:.0f} s, worst second "
              f"{sw['worst_1s_fps']} frames, {sw['dropped_frames']} dropped, onnx in use after "
              f"{sw['new_runtime_after_s']:.1f} s")
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def _runtime_switch(progress: Callable[[str], None]) -> dict[str, Any]:
    """The live runtime switch torch -> auto with an empty ONNX cache (so the export is part of it)."""
    from app.core.bench.pipeline import measure_switch, write_test_video

    progress("runtime switch torch -> auto")
    with tempfile.TemporaryDirectory(prefix="affectscope-switch-") as tmp:
        video = write_test_video(Path(tmp) / "faces4.avi", 4, 4.0)
        before = os.environ.get("AFFECTSCOPE_CACHE_DIR")
        os.environ["AFFECTSCOPE_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            return measure_switch(video, None, "torch", "auto")
        finally:
            if before is None:
                os.environ.pop("AFFECTSCOPE_CACHE_DIR", None)
            else:
                os.environ["AFFECTSCOPE_CACHE_DIR"] = before


def run_detection_command(args: argparse.Namespace) -> int:
    """`--detection`: every detector plan on the same generated scenes (`--quick`: fewer scenes)."""
    from app.core.bench.detection import markdown_table, run_detection_benchmark

    counts = {"groups": 8, "closeups": 8} if args.quick else {"groups": 40, "closeups": 40}
    report = run_detection_benchmark(progress=lambda m: print(m, flush=True), **counts)
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_tracking_command(args: argparse.Namespace) -> int:
    """`--tracking`: the live default's (or with `--video-file` analyze's) ids and recall on generated
    sequences (`--quick`: 3 s each)."""
    from app.core.bench.tracking import markdown_table, run_tracking_benchmark

    report = run_tracking_benchmark(seconds=3.0 if args.quick else 10.0,
                                    progress=lambda m: print(m, flush=True), video_file=args.video_file)
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_reid_command(args: argparse.Namespace) -> int:
    """`--reid`: the descriptor's match rates on the shipped faces."""
    from app.core.bench.reid import markdown_table, run_reid_benchmark

    report = run_reid_benchmark()
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_quality_command(args: argparse.Namespace, predictor: Any) -> int:
    """`--quality`: the quality sweeps on the shipped faces and the thresholds they give."""
    from app.core.bench.quality import markdown_table, run_quality_benchmark

    report = run_quality_benchmark(predictor)
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def _heldout(predictor: Any):
    """The held-out real faces cropped for `predictor` and the teachers' and its outputs on them:
    (crops, model.distill.heldout.HeldoutOutputs)."""
    from model.distill.heldout import heldout_crops, heldout_outputs
    from model.distill.teachers import FacePool, load_teacher_ensemble

    pool = FacePool()
    faces = pool.faces("heldout")
    crops = heldout_crops(pool, faces, predictor.config.crop_margin)
    return crops, heldout_outputs(predictor, load_teacher_ensemble(), [f.id for f in faces], crops)


def run_uncertainty_command(args: argparse.Namespace, predictor: Any) -> int:
    """`--uncertainty`: the predicted SD against the error (the head on the noisy-label fixture and on
    the held-out faces; test-time augmentation's spread)."""
    from app.core.bench.uncertainty import markdown_table, run_uncertainty_benchmark
    from model.circumplex import derived_va

    crops, outputs = _heldout(predictor)
    truth = derived_va(outputs.ensemble.astype("float64"))  # (N,2) the ensemble's V/A
    minutes = args.minutes if args.minutes is not None else UNCERTAINTY_MINUTES
    report = run_uncertainty_benchmark(predictor, minutes, (crops, truth))
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_calibration_command(args: argparse.Namespace, predictor: Any) -> int:
    """`--calibration`: ECE of the model on the held-out faces, before and after temperature scaling;
    the labels are the teacher ensemble's top classes (the starter's reference)."""
    from model.calibration import calibration_report

    _, outputs = _heldout(predictor)
    labels = outputs.ensemble.argmax(axis=1)  # (N,)
    report = calibration_report(outputs.student_probabilities, labels)
    report.update(model=predictor.name, machine=machine_info(),
                  agreement=float((outputs.student_probabilities.argmax(axis=1) == labels).mean()))
    print(f"{report['n']} held-out faces, model {report['model']} "
          f"(top-1 agreement {report['agreement']:.3f}): "
          f"ECE {report['ece']:.3f}; temperature {report['temperature']:.2f}; ECE after temperature scaling "
          f"(cross-fitted halves) {report['ece_after']:.3f}")
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def run_viewer_command(args: argparse.Namespace) -> int:
    """`--viewer`: open, scroll and scrub an hour-long session in the Viewer tab (offscreen)."""
    from app.gui.app import offscreen_application

    offscreen_application()
    from app.gui.viewer_bench import markdown_table, run_viewer_bench

    report = run_viewer_bench()
    report["machine"] = machine_info()
    print(markdown_table(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0 if report["open_goal_met"] and report["pan_goal_met"] else 1


def run_soak_command(args: argparse.Namespace) -> int:
    """`--soak`: memory growth and lost rows of the live path with the recorder."""
    from app.core.bench.soak import run_soak, soak_summary
    from app.core.model_store import open_predictor

    minutes = args.minutes if args.minutes is not None else SOAK_MINUTES
    if minutes <= 0 or (args.frames is not None and args.frames < 1):
        print(f"affectscope bench: --minutes must be > 0 and --frames >= 1 "
              f"(got {minutes}, {args.frames})", file=sys.stderr)
        return 2
    report = run_soak(open_predictor(None, device="cpu"), minutes, args.frames,
                      progress=lambda m: print(m, flush=True))
    report["machine"] = machine_info()
    print(soak_summary(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0 if report["rows_lost"] == 0 else 1


def run_lsl_command(args: argparse.Namespace) -> int:
    """`--lsl`: latency and fps of the live path with the LSL outlet on and off."""
    from app.core.bench.lsl import lsl_summary, run_lsl_benchmark
    from app.core.model_store import open_predictor

    if args.block_seconds <= 0:
        print(f"affectscope bench: --block-seconds must be > 0, got {args.block_seconds}", file=sys.stderr)
        return 2
    report = run_lsl_benchmark(open_predictor(None, device="cpu"), block_s=args.block_seconds,
                               progress=lambda m: print(m, flush=True))
    report["machine"] = machine_info()
    print(lsl_summary(report))
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


STARTUP_GOAL_S = 3.0  # the window with its first step shown (issue 16)


def run_startup_command(args: argparse.Namespace) -> int:
    """`--startup`: launch the GUI offscreen `--launches` times with fresh settings (the default model);
    report when the window showed and when the status bar named the model, from the launch, and the
    longest the shown window's event loop stalled while the model loaded."""
    import statistics
    import subprocess

    if args.launches < 1:
        print(f"affectscope bench: --launches must be >= 1, got {args.launches}", file=sys.stderr)
        return 2
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shown, named, stalls = [], [], []
    with tempfile.TemporaryDirectory(prefix="affectscope-startup-") as tmp:
        for launch in range(args.launches):
            report = Path(tmp) / f"launch{launch}.json"
            started = time.time()
            settings = Path(tmp) / f"launch{launch}.ini"
            argv = ["gui", "--settings", str(settings), "--startup-report", str(report)]
            launcher = f"from app.cli import main; raise SystemExit(main({argv!r}))"  # as the console script
            subprocess.run([sys.executable, "-c", launcher], env=env, check=True, capture_output=True,
                           timeout=300)
            times = json.loads(report.read_text())
            shown.append(times["window_shown"] - started)
            named.append((times["model_named"] or float("nan")) - started)
            stalls.append(times["longest_stall_s"] * 1000)
            print(f"launch {launch + 1}: window {shown[-1]:.2f} s, model named {named[-1]:.2f} s, longest "
                  f"stall of the shown window {stalls[-1]:.0f} ms", flush=True)
    result = {
        "benchmark": "startup", "launches": args.launches,
        "window_shown_s": {"median": statistics.median(shown), "min": min(shown), "max": max(shown)},
        "model_named_s": {"median": statistics.median(named), "min": min(named), "max": max(named)},
        "longest_stall_ms": {"median": statistics.median(stalls), "max": max(stalls)},
        "goal_s": STARTUP_GOAL_S, "goal_met": statistics.median(shown) <= STARTUP_GOAL_S,
        "machine": machine_info(),
    }
    print(f"window shown: median {result['window_shown_s']['median']:.2f} s (goal <= {STARTUP_GOAL_S:.0f} s: "
          f"{'met' if result['goal_met'] else 'NOT met'}); model named: median "
          f"{result['model_named_s']['median']:.2f} s; longest stall while it loads: median "
          f"{result['longest_stall_ms']['median']:.0f} ms")
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    return 0


def run_training(args: argparse.Namespace) -> int:
    """`--training`: images/s of both training stages (`--quick`: 64 px, batch 8, a few steps)."""
    from model.diagnostics.train_throughput import measure_training_throughput

    if args.workers < 0:
        print(f"affectscope bench: --workers must be >= 0, got {args.workers}", file=sys.stderr)
        return 2
    settings = {"steps": 4, "batch_size": 8, "input_size": 64} if args.quick else {}
    with tempfile.TemporaryDirectory(prefix="affectscope-train-bench-") as work:
        report = measure_training_throughput(work, workers=args.workers, device=args.device, **settings)
    report["machine"] = machine_info()
    s = report["settings"]
    print(
        f"training throughput: {s['backbone']} {s['input_size']} px, batch {s['batch_size']}, {s['device']}, "
        f"{report['machine']['torch_threads']} torch threads, {s['workers']} loader workers"
    )
    print("| stage | steps timed | s/step | images/s |\n|---|---|---|---|")
    for r in report["stages"]:
        print(
            f"| {r['stage']} | {r['steps_timed']} | {r['seconds_per_step']:.2f} | {r['images_per_s']:.1f} |"
        )
    if args.json:
        write_json(report, args.json)
        print(f"wrote {args.json}")
    return 0


def write_json(report: dict[str, Any], path: str | Path) -> None:
    """Write `report` as indented JSON, creating the parent folder."""
    from model.io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(report, indent=2) + "\n")
