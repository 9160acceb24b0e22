"""`affectscope train`: train or fine-tune a model with the two-stage recipe (model/train/run.py).

Progress is a tqdm bar per epoch plus one line per validated epoch; the first Ctrl-C stops after the
current step and leaves a checkpoint (continue with --resume), a second one aborts. The same command
runs data-parallel under `torchrun --nproc_per_node N python main.py train ...`; only rank 0 prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from model.config import DATASET_FORMATS, FINE_TUNE_BACKBONE_LR, LR_AUTO_HELP, RNN_CELLS, ModelConfig
from model.runtimes import DEVICES
from model.train.options import CLASS_BALANCE_CHOICES, STAGE_CHOICES, VAL_SOURCE_CHOICES, TrainOptions

NAME = "train"
HELP = "train or fine-tune a model (two-stage recipe)"
DESCRIPTION = (
    "Train 2Att-2Mt on AffectNet, your own CSV or class folders: stage 1 learns the 8 expressions, stage 2 "
    "valence/arousal from the best stage-1 weights. Starts from the default model (fine-tuning) unless "
    "--model names another checkpoint or --backbone/--input-size/an ablation flag asks for a new model. "
    "Writes OUT/stage{1,2}_{best,last}.pt, OUT/resume.pt and OUT/train_log.jsonl."
)
ABLATION_FLAGS = {  # command-line flag -> (ModelConfig field, value it sets)
    "no_first_level_attention": ("first_level_attention", False),
    "last_stage_only": ("bi_rnn", False),
    "no_second_level_attention": ("second_level_attention", False),
    "separate_va_heads": ("separate_va_heads", True),
}


def _epochs(text: str) -> tuple[int, int]:
    """'N' (both stages) or 'N1,N2' -> (N1, N2)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--epochs takes N or N1,N2 (whole numbers), got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--epochs takes N or N1,N2 with numbers >= 1, got {text!r}")
    return values[0], values[1]


def register(subparsers) -> None:
    """Add the `train` subcommand to `subparsers`; every default and choice comes from TrainOptions."""
    d, new = TrainOptions(), ModelConfig()
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    data = p.add_argument_group("data")
    data.add_argument(
        "--data", required=True, help="AffectNet folder (training.csv ...), a CSV file, or class folders"
    )
    data.add_argument("--format", choices=DATASET_FORMATS, default=d.format)
    data.add_argument(
        "--image-root", help="folder the CSV's image paths start from (default: beside the CSV)"
    )
    data.add_argument(
        "--val-source",
        choices=VAL_SOURCE_CHOICES,
        help=f"model selection on a hold-out carved from training (MODEL_SPEC's AffectNet protocol) or on "
        f"the data's own validation split (default {d.val_source})",
    )
    data.add_argument(
        "--val-fraction", type=float, help=f"hold-out share of the training rows (default {d.val_fraction})"
    )

    model = p.add_argument_group("model (default: fine-tune the default model)")
    model.add_argument("--model", help="checkpoint to start from (fine-tuning)")
    model.add_argument("--backbone", help="build a new model with this backbone (e.g. efficientnet_lite0)")
    model.add_argument("--input-size", type=int, help="input side of a new model (112, 160, 224)")
    model.add_argument(
        "--backbone-weights",
        default="imagenet",
        help="a new model's backbone start: 'imagenet' (where shipped, else random), 'faceapi' "
        "(faceapi_features: face-api's face-trained blocks), 'none', or a local state-dict file",
    )
    model.add_argument("--name", help="model name stored in the checkpoints")
    model.add_argument(
        "--no-first-level-attention", action="store_true", help="ablation: global average pooling"
    )
    model.add_argument(
        "--last-stage-only", action="store_true", help="ablation: last backbone stage, no Bi-RNN"
    )
    model.add_argument("--no-second-level-attention", action="store_true", help="ablation: mean over layers")
    model.add_argument(
        "--separate-va-heads", action="store_true", help="ablation: one head per V/A dimension"
    )
    model.add_argument(
        "--rnn", choices=RNN_CELLS, help=f"Bi-RNN cell of a new model (default {new.rnn_type})"
    )

    recipe = p.add_argument_group("recipe (defaults: MODEL_SPEC.md)")
    recipe.add_argument(
        "--stages",
        choices=STAGE_CHOICES,
        default=d.stages,
        help="'1' expression, '2' valence/arousal (alone: the one-stage ablation), '1+2'",
    )
    recipe.add_argument(
        "--epochs", type=_epochs, metavar="N|N1,N2",
        help=f"epochs per stage (default {d.epochs[0]},{d.epochs[1]})",
    )
    recipe.add_argument("--lr", type=float, help=f"learning rate (default {LR_AUTO_HELP})")
    recipe.add_argument(
        "--backbone-lr",
        type=float,
        help=f"backbone learning rate (default: --lr for a new model, {FINE_TUNE_BACKBONE_LR:g} when "
        "fine-tuning)",
    )
    recipe.add_argument(
        "--weight-decay", type=float, help=f"Adam weight decay (default {d.weight_decay:g})"
    )
    recipe.add_argument(
        "--batch-size", type=int, help=f"images per step and process (default {d.batch_size})"
    )
    recipe.add_argument(
        "--lambda-ccc", type=float, help=f"weight of the CCC loss in stage 2 (default {d.lambda_ccc:g})"
    )
    recipe.add_argument(
        "--lambda-c", type=float, help=f"weight of the expression loss in stage 2 (default {d.lambda_c:g})"
    )
    recipe.add_argument(
        "--lambda-consistency",
        type=float,
        help="weight of the cross-scale attention consistency loss, both stages: each map from stride 16 "
        f"on follows the next finer one (default {d.lambda_consistency:g}; 0 = off; see model/losses.py)",
    )
    recipe.add_argument(
        "--lambda-stage",
        type=float,
        help=f"weight of the stage probes' expression loss, both stages (default {d.lambda_stage:g}; 0 = the "
        "plain paper recipe; see model/train/stage_probes.py)",
    )
    recipe.add_argument(
        "--va-uncertainty",
        action="store_true",
        help="train a heteroscedastic head that predicts a standard deviation for valence and arousal "
        "(added with fresh weights when the model has none; written to the CSVs as valence_std, "
        "arousal_std)",
    )
    recipe.add_argument(
        "--lambda-nll",
        type=float,
        help=f"weight of the uncertainty head's Gaussian negative log-likelihood in stage 2 "
        f"(default {d.lambda_nll:g})",
    )
    recipe.add_argument(
        "--class-balance",
        choices=CLASS_BALANCE_CHOICES,
        help=f"inverse-frequency class weights, a balanced sampler, or none (default {d.class_balance})",
    )
    recipe.add_argument(
        "--patience", type=int, help=f"early-stopping patience in epochs (default {d.early_stop_patience})"
    )

    run = p.add_argument_group("running")
    run.add_argument("--device", choices=DEVICES, default=d.device)
    run.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    run.add_argument("--out", default=str(d.out_dir), help=f"output folder (default {d.out_dir})")
    run.add_argument("--resume", action="store_true", help="continue the run in --out")
    run.add_argument("--seed", type=int, default=d.seed)
    run.add_argument("--workers", type=int, help=f"data-loading processes (default {d.workers})")
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    run.add_argument("--max-steps", type=int, help="stop each stage after this many steps (quick runs)")
    run.add_argument("--time-budget-min", type=float, help="stop the run after this many minutes")
    p.set_defaults(func=run_command)


def _model_choice(args: argparse.Namespace):
    """(start checkpoint or None, ModelConfig of a new model or None) from the arguments."""
    from dataclasses import replace

    from app.core.model_paths import resolve_model_path
    from model.config import SHIPPED_WEIGHTS, ModelConfig, shipped_weights

    ablations = {field: value for flag, (field, value) in ABLATION_FLAGS.items() if getattr(args, flag)}
    if args.rnn:
        ablations["rnn_type"] = args.rnn
    wants_new = args.backbone is not None or args.input_size is not None or bool(ablations)
    if args.model and wants_new:
        raise ValueError(
            "--model fine-tunes an existing architecture; --backbone, --input-size, --rnn and the "
            "ablation flags build a new model: use one or the other"
        )
    if args.resume:
        return None, None  # the run's own checkpoints decide
    if not wants_new:
        start = resolve_model_path(args.model)
        if start is not None:
            return start, None
    config = ModelConfig()
    if args.backbone is not None:
        config = replace(config, backbone=args.backbone, mean=None, std=None)
    if args.input_size is not None:
        config = replace(config, input_size=args.input_size)
    weights = args.backbone_weights
    shipped = shipped_weights(config.backbone)
    if weights == "none" or (weights == "imagenet" and shipped != "imagenet"):
        weights = None
    elif weights == "faceapi":
        if shipped != "faceapi":
            with_faceapi = " or ".join(b for b, w in SHIPPED_WEIGHTS.items() if w == "faceapi")
            raise ValueError(f"--backbone-weights faceapi needs --backbone {with_faceapi}")
    elif weights != "imagenet" and not Path(weights).is_file():
        raise ValueError(
            f"--backbone-weights {weights} is neither 'imagenet', 'faceapi', 'none' nor an existing file"
        )
    return None, replace(config, backbone_weights=weights, **ablations)


def _options(args: argparse.Namespace):
    """TrainOptions from the parsed arguments (ValueError for values that cannot work)."""
    from model.train import TrainOptions

    start, config = _model_choice(args)
    if args.time_budget_min is not None and args.time_budget_min <= 0:
        raise ValueError(f"--time-budget-min must be > 0, got {args.time_budget_min}")
    values = {
        "data": args.data,
        "format": args.format,
        "image_root": args.image_root,
        "start_checkpoint": start,
        "model_config": config,
        "model_name": args.name,
        "stages": args.stages,
        "device": args.device,
        "amp": not args.no_amp,
        "out_dir": args.out,
        "resume": args.resume,
        "seed": args.seed,
        "max_steps": args.max_steps,
        "va_uncertainty": args.va_uncertainty,
        "time_budget_s": None if args.time_budget_min is None else args.time_budget_min * 60.0,
    }
    optional = {  # left out when not given, so TrainOptions' defaults apply
        "val_source": args.val_source,
        "val_fraction": args.val_fraction,
        "epochs": args.epochs,
        "lr": args.lr,
        "backbone_lr": args.backbone_lr,
        "weight_decay": args.weight_decay,
        "batch_size": args.batch_size,
        "lambda_ccc": args.lambda_ccc,
        "lambda_c": args.lambda_c,
        "lambda_stage": args.lambda_stage,
        "lambda_consistency": args.lambda_consistency,
        "lambda_nll": args.lambda_nll,
        "class_balance": args.class_balance,
        "early_stop_patience": args.patience,
        "workers": args.workers,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    return TrainOptions(**values)


def run_command(args: argparse.Namespace) -> int:
    """Run the training; 0 when finished, 1 when cancelled, 2 for bad arguments or data."""
    from app.commands.event_loop import run_events
    from app.commands.threads import set_torch_threads
    from app.commands.train_progress import TrainProgress
    from model.checkpoint import CheckpointError
    from model.data import DatasetError
    from model.train import Cancelled, train

    try:
        set_torch_threads(args.threads)
    except ValueError as exc:
        print(f"affectscope train: {exc}", file=sys.stderr)
        return 2
    progress = TrainProgress(quiet=os.environ.get("RANK", "0") != "0")
    try:
        options = _options(args)
        cancelled = run_events(lambda cancel: train(options, cancel), progress.show, progress.say, Cancelled)
    except (ValueError, FileNotFoundError, DatasetError, CheckpointError) as exc:
        progress.close_bar()
        print(f"affectscope train: {exc}", file=sys.stderr)
        return 2
    finally:
        progress.close_bar()
    return 1 if cancelled else 0
