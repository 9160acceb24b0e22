"""`affectscope evaluate`: evaluate a model on labelled faces and write the paper-style report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "evaluate"
HELP = "evaluate a model and write the metrics report"
DESCRIPTION = (
    "Run a model over a labelled dataset in batches and write REPORT.json plus REPORT.md beside it (and "
    "REPORT_reliability.png, the calibration of the expression probabilities, when there are expression "
    "labels): "
    "CCC, PCC, RMSE, MSE and SAGR for valence and arousal next to the reference rows of MODEL_SPEC.md, and "
    "accuracy, macro-F1 and the confusion matrix for the 8 expressions. --predictions writes one row per "
    "image so every number can be recomputed. Without --model the app's default model is evaluated."
)


def register(subparsers) -> None:
    """Add the `evaluate` subcommand to `subparsers`."""
    from model.config import DATASET_FORMATS, SPLITS
    from model.evaluate_options import EvaluateOptions
    from model.runtimes import DEVICES

    d = EvaluateOptions()
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    p.add_argument("--model", help="checkpoint (.pt) to evaluate (default: the app's default model)")
    p.add_argument("--data", required=True, help="AffectNet folder, a CSV file, or class folders")
    p.add_argument("--format", choices=DATASET_FORMATS, default=d.format)
    p.add_argument(
        "--split",
        choices=SPLITS,
        default=d.split,
        help=f"which split of a folder to read (default {d.split}; AffectNet's validation split is its "
        "test set)",
    )
    p.add_argument("--image-root", help="folder the CSV's image paths start from (default: beside the CSV)")
    p.add_argument("--report", required=True, help="REPORT.json to write (REPORT.md is written beside it)")
    p.add_argument("--predictions", help="CSV with one row per image (labels, outputs, probabilities)")
    p.add_argument(
        "--batch-size", type=int, default=d.batch_size, help=f"images per batch (default {d.batch_size})"
    )
    p.add_argument("--device", choices=DEVICES, default=d.device)
    p.add_argument(
        "--workers", type=int, default=d.workers, help=f"data-loading processes (default {d.workers})"
    )
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--save-calibrated", type=Path, metavar="OUT.pt",
                   help="also write a copy of the checkpoint holding the temperature fitted here on the "
                        "expression labels (the app then reports calibrated probabilities); fit it on "
                        "validation data, not on the data you report")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Evaluate and write the files; 0 on success, 2 for bad arguments, model or data."""
    import torch

    from app.commands.threads import set_torch_threads
    from app.core.model_store import open_model
    from model.calibration import stored_temperature
    from model.checkpoint import CheckpointError
    from model.data import DatasetError, open_dataset
    from model.evaluate import evaluate, write_predictions, write_report
    from model.evaluate_options import EvaluateOptions

    def fail(message: str) -> int:
        print(f"affectscope evaluate: {message}", file=sys.stderr)
        return 2

    try:
        EvaluateOptions(args.format, args.split, args.batch_size, args.device, args.workers)
        set_torch_threads(args.threads)
    except ValueError as exc:
        return fail(str(exc))
    if args.device == "cuda" and not torch.cuda.is_available():
        return fail("--device cuda requested but this torch has no usable CUDA; use --device cpu")
    try:
        loaded = open_model(args.model)
        dataset = open_dataset(
            args.data, args.format, args.split, loaded.config, train=False, image_root=args.image_root
        )
    except (FileNotFoundError, ValueError, DatasetError, CheckpointError) as exc:
        return fail(str(exc))
    print(dataset.describe())
    model_info = {
        "name": loaded.metadata["name"],
        "path": str(loaded.path) if loaded.path is not None else None,
        "sha256": loaded.sha256,
        "va_source": loaded.metadata["va_source"],
        "untrained": loaded.metadata["untrained"],
        "backbone": loaded.config.backbone,
        "input_size": loaded.config.input_size,
        "va_uncertainty": loaded.config.va_uncertainty,
    }
    data_info = {"path": str(args.data), "format": args.format, "split": args.split}
    result = evaluate(
        loaded.model,
        dataset,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
        model_info=model_info,
        data_info=data_info,
        temperature=stored_temperature(loaded.metadata),
    )
    json_path, md_path = write_report(result.report, args.report)
    print(f"wrote {json_path} and {md_path}")
    calibration = (result.report.get("expression") or {}).get("calibration")
    if calibration:
        from app.core.reliability_plot import write_reliability_png

        diagram = write_reliability_png(calibration, json_path.with_name(f"{json_path.stem}_reliability.png"))
        after = calibration["ece_after"]
        print(f"expected calibration error {calibration['ece']:.3f}"
              + (f", {after:.3f} after temperature scaling (T {calibration['temperature']:.2f})"
                 if after is not None else "") + f"; reliability diagram {diagram}")
    uncertainty = result.report.get("uncertainty")
    if uncertainty:
        print("uncertainty: " + "; ".join(
            f"{name} Spearman(SD, |error|) {d['spearman']:.3f}, RMSE of the {uncertainty['keep']:.0%} most "
            f"certain {d['rmse_kept']:.3f} of {d['rmse']:.3f} ({abs(d['rmse_drop']):.1%} "
            f"{'lower' if d['rmse_drop'] >= 0 else 'higher'})"
            for name, d in uncertainty.items() if isinstance(d, dict)))
    elif not loaded.config.va_uncertainty:
        print("uncertainty: none (this model has no uncertainty head; train with --va-uncertainty)")
    if args.save_calibrated is not None:
        if not calibration or calibration["temperature"] is None:
            return fail("--save-calibrated needs expression labels in the data (at least two images)")
        from model.calibration import TEMPERATURE_KEY
        from model.checkpoint import save_checkpoint

        temperature = calibration["temperature"] * stored_temperature(loaded.metadata)
        metadata = {**loaded.metadata, TEMPERATURE_KEY: temperature,
                    "temperature_fitted_on": f"{args.data} ({args.split}, {calibration['n']} images)"}
        saved = save_checkpoint(args.save_calibrated, loaded.model, metadata)
        print(f"wrote {saved}: expression temperature {temperature:.3f}")
    if args.predictions:
        print(f"wrote {write_predictions(result.predictions, args.predictions, loaded.config.class_names)}")
    summary = result.report["summary"]
    print("; ".join(f"{k} {v:.3f}" for k, v in summary.items()) or "no labelled images")
    if loaded.metadata["untrained"]:
        print("note: the default model is untrained (random weights); its numbers mean nothing")
    return 0
