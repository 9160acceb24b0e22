"""`affectscope distill`: rebuild the starter model by distillation from the two vendored teachers.

Runs `model.distill.distill` and prints its progress; writes OUT/starter.pt, OUT/starter.sha256 and
OUT/MODEL_CARD.md. The first Ctrl-C stops after the current step without touching OUT, a second aborts.
"""

from __future__ import annotations

import argparse
import sys

NAME = "distill"
HELP = "rebuild the starter model by distillation"
DESCRIPTION = (
    "Distil the default (starter) model from the two vendored 7-class expression teachers on augmented "
    "views of the training faces in assets/faces/, measure it on the held-out faces, and write "
    "OUT/starter.pt, OUT/starter.sha256 and OUT/MODEL_CARD.md. Takes tens of minutes on a CPU; --quick "
    "runs a few steps at 64 px to check the pipeline (its output is not a usable model)."
)


def register(subparsers) -> None:
    """Add the `distill` subcommand to `subparsers`; every default comes from DistillOptions."""
    from model.config import BACKBONE_WEIGHTS
    from model.distill.options import DistillOptions

    d = DistillOptions()
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    p.add_argument("--out", default=None, help=f"output folder (default: {d.out_dir})")
    p.add_argument(
        "--work",
        default=None,
        help=f"folder for the run's pools, training and report (default: {d.work_dir})",
    )
    p.add_argument("--quick", action="store_true", help="a few steps on a tiny pool (pipeline check)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--views", type=int, help=f"training views of the real faces (default {d.views})")
    p.add_argument("--synthetic-faces", type=int, help="extra procedural faces labelled by the teachers")
    p.add_argument(
        "--epochs", help=f"N or N1,N2: epochs of stage 1 and stage 2 (default {d.epochs[0]},{d.epochs[1]})"
    )
    p.add_argument("--time-budget", type=float, help="minutes of training at most (both stages)")
    p.add_argument(
        "--balance-power",
        type=float,
        help="views per face ~(1 / faces of its teacher class) ** P: 0 even, 1 equal per class "
        f"(default {d.balance_power:g})",
    )
    p.add_argument("--input-size", type=int, help=f"student input side in pixels (default {d.input_size})")
    p.add_argument("--backbone", help=f"student backbone (default {d.backbone}; e.g. efficientnet_lite0)")
    p.add_argument(
        "--backbone-weights",
        choices=(*BACKBONE_WEIGHTS, "none"),
        help=f"student backbone start (default {d.backbone_weights}): imagenet (efficientnet_lite0), faceapi "
        "(faceapi_features), none",
    )
    p.add_argument("--lr", type=float, help=f"learning rate of the heads (default {d.lr:g})")
    p.add_argument(
        "--backbone-lr", type=float, help=f"learning rate of the backbone (default {d.backbone_lr:g})"
    )
    p.add_argument(
        "--label-clean-views",
        action="store_true",
        help="let the teachers label each view before its blur, noise and JPEG, so the student learns to "
        "read through them (default: the teachers label the view the student sees; measured in "
        "docs/BENCHMARKS.md)",
    )
    p.add_argument(
        "--no-va-uncertainty",
        action="store_true",
        help="leave out the head that predicts a standard deviation for valence and arousal",
    )
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(func=run_command)


def _epochs(text: str) -> tuple[int, int]:
    """'N' or 'N1,N2' -> (N1, N2), each >= 1."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--epochs takes N or N1,N2 (whole numbers), got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 1:
        raise ValueError(f"--epochs takes N or N1,N2 with numbers >= 1, got {text!r}")
    return values[0], values[1]


def _options(args: argparse.Namespace):
    """DistillOptions from the command line."""
    from model.distill import DistillOptions

    values = {"seed": args.seed}
    if args.out is not None:
        values["out_dir"] = args.out
    if args.work is not None:
        values["work_dir"] = args.work
    if args.views is not None:
        values["views"] = args.views
    if args.synthetic_faces is not None:
        values["synthetic_faces"] = args.synthetic_faces
    if args.epochs is not None:
        values["epochs"] = _epochs(args.epochs)
    for name in ("balance_power", "input_size", "lr", "backbone_lr", "backbone"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.backbone_weights is not None:
        values["backbone_weights"] = None if args.backbone_weights == "none" else args.backbone_weights
    if args.label_clean_views:
        values["label_clean_views"] = True
    if args.no_va_uncertainty:
        values["va_uncertainty"] = False
    if args.time_budget is not None:
        if args.time_budget <= 0:
            raise ValueError(f"--time-budget must be > 0 minutes, got {args.time_budget}")
        values["time_budget_s"] = args.time_budget * 60.0
    return DistillOptions.quick_options(**values) if args.quick else DistillOptions(**values)


class _Printer:
    """One line per distillation phase; the training stages are shown as `train` shows them."""

    def __init__(self) -> None:
        from app.commands.train_progress import TrainProgress

        self.finished_phases: set[tuple[str, str]] = set()
        self.training = TrainProgress(quiet=False)

    def show(self, event) -> None:
        """Print one distillation or training event."""
        from model.distill import run as d
        from model.distill.pool import PoolProgress
        from model.train import TrainEvent

        if isinstance(event, TrainEvent):
            self.training.show(event)
        elif isinstance(event, d.DistillStarted):
            self.say(f"distilling{' (quick)' if event.quick else ''}: work folder {event.run_dir}")
        elif isinstance(event, PoolProgress):
            if event.done == event.total and (event.name, event.phase) not in self.finished_phases:
                self.finished_phases.add((event.name, event.phase))
                self.say(f"pool {event.name}: {event.phase} {event.done}/{event.total} done")
        elif isinstance(event, d.PoolBuilt):
            counts = ", ".join(f"{k} {v}" for k, v in event.class_counts.items())
            self.say(
                f"pool {event.name}: {event.n_views} views ({counts}); teachers agree on "
                f"{event.teachers_agree:.0%}; {event.seconds:.0f} s"
            )
        elif isinstance(event, d.HeldoutMeasured):
            s = event.summary
            self.say(
                f"held-out ({s['n_faces']} faces): agreement {s['agreement']:.1%}, where teachers agree "
                f"{s['agreement_teachers_agree']:.1%} (majority baseline {s['majority_baseline']:.1%}); "
                f"Pearson V {s['pearson_v']:.3f}, A {s['pearson_a']:.3f}; latency "
                f"{event.latency['median_ms']:.1f} ms/face; report {event.report_path}"
            )
        elif isinstance(event, d.StarterWritten):
            self.say(
                f"wrote {event.path} ({event.size_bytes / 1e6:.1f} MB, sha256 {event.sha256}) and "
                f"{event.card_path}"
            )
        elif isinstance(event, d.DistillFinished):
            self.say(f"done in {event.seconds / 60:.1f} min")
        elif isinstance(event, d.DistillCancelled):
            self.say(
                f"cancelled during {event.phase}; nothing written to the output folder "
                f"(partial run in {event.run_dir})"
            )

    def say(self, text: str) -> None:
        """Print a line now, above any training progress bar."""
        self.training.say(text)

    def close(self) -> None:
        """End a training progress bar still shown."""
        self.training.close_bar()


def run_command(args: argparse.Namespace) -> int:
    """Run the distillation; 0 when the starter was written, 1 when cancelled, 2 for bad arguments."""
    from app.commands.event_loop import run_events
    from app.commands.threads import set_torch_threads
    from model.distill import DistillCancelled, distill

    try:
        set_torch_threads(args.threads)
        options = _options(args)
        options.validate()
    except ValueError as exc:
        print(f"affectscope distill: {exc}", file=sys.stderr)
        return 2
    printer = _Printer()
    try:
        job = lambda cancel: distill(options, cancel)  # noqa: E731
        cancelled = run_events(job, printer.show, printer.say, DistillCancelled)
    except (ValueError, FileNotFoundError) as exc:
        printer.close()
        print(f"affectscope distill: {exc}", file=sys.stderr)
        return 2
    finally:
        printer.close()
    return 1 if cancelled else 0
