"""`affectscope synth`: generate a synthetic expressive-face dataset in the AffectNet CSV layout."""

from __future__ import annotations

import argparse
import sys

NAME = "synth"
HELP = "generate a synthetic expressive-face dataset (AffectNet CSV layout)"
DESCRIPTION = (
    "Draw procedural faces whose mouth, brows and eyes encode valence, arousal and one of the 8 classes, "
    "and write DIR/<split>.csv plus DIR/images/<split>/. The split is part of the random seed, so "
    "'--split training' and '--split validation' with the same --seed never share images."
)


def register(subparsers) -> None:
    """Add the `synth` subcommand to `subparsers`."""
    from model.config import SPLITS, ModelConfig
    from model.data.label_noise import LabelNoise

    size = ModelConfig().input_size
    parser = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION)
    parser.add_argument("--out", required=True, help="output folder (DIR/<split>.csv, DIR/images/<split>/)")
    parser.add_argument("--n", type=int, required=True, help="number of images")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument(
        "--split", choices=SPLITS, default=SPLITS[0], help="which CSV to write"
    )
    parser.add_argument("--size", type=int, default=size, help=f"image side in pixels (default {size})")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing <split>.csv and its images"
    )
    parser.add_argument(
        "--label-noise",
        type=float,
        metavar="SD",
        help="degrade a share of the faces (blur, low contrast) and add N(0, SD^2) noise to their "
        "valence/arousal labels; writes <split>_label_noise.csv (the uncertainty fixture)",
    )
    parser.add_argument(
        "--noisy-share",
        type=float,
        default=LabelNoise.share,
        help=f"share of the faces that --label-noise degrades (default {LabelNoise.share:g})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate the dataset; exit code 0 on success, 2 on bad arguments or an existing output."""
    from model.data.label_noise import LabelNoise
    from model.data.synthetic_dataset import generate_dataset

    try:
        noise = None if args.label_noise is None else LabelNoise(args.noisy_share, args.label_noise)
        summary = generate_dataset(
            args.out, args.n, seed=args.seed, split=args.split, size=args.size,
            overwrite=args.overwrite, workers=args.workers, label_noise=noise,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"affectscope synth: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} {count}" for name, count in summary.class_counts.items())
    print(
        f"wrote {summary.count} {summary.size}px images and {summary.csv_path} "
        f"(seed {summary.seed}, {summary.split}) in {summary.seconds:.1f} s; classes: {counts}"
    )
    return 0
