"""`affectscope attention`: where a model's first-level attention looks on synthetic faces.

Renders the faces of a `synth` split again (same seed and count), with masks of the expressive parts
(eyes with brows, mouth) and of the head, and prints per backbone stage how much more attention mass per
pixel the parts get than the rest of the head (model/diagnostics/attention_regions.py). Issue 3's goal:
>= 2 on the two middle stages.
"""

from __future__ import annotations

import argparse
import json
import sys

NAME = "attention"
HELP = "measure how much first-level attention falls on eyes, brows and mouth of synthetic faces"


def register(subparsers) -> None:
    """Add the `attention` subcommand to `subparsers`."""
    from model.config import SPLITS, ModelConfig

    size = ModelConfig().input_size
    p = subparsers.add_parser(NAME, help=HELP, description=__doc__.split("\n\n", 1)[1])
    p.add_argument("--model", metavar="CKPT", help=".pt checkpoint (default: the default model)")
    p.add_argument("--n", type=int, default=1000, help="faces in the synth split (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="the split's synth seed (default 0)")
    p.add_argument("--split", choices=SPLITS, default="validation")
    p.add_argument("--size", type=int, default=size, help=f"the split's image side (default {size})")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure and print the table; 0 on success, 2 on unusable input."""
    from app.commands.threads import set_torch_threads
    from app.core.model_store import open_model
    from model.diagnostics.attention_regions import GOAL_RATIO, as_rows, measure_attention_regions

    try:
        set_torch_threads(args.threads)
        if args.n < 1 or args.seed < 0 or args.size < 32:
            raise ValueError(
                f"need --n >= 1, --seed >= 0 and --size >= 32 (got {args.n}, {args.seed}, {args.size})"
            )
        loaded = open_model(args.model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"affectscope attention: {exc}", file=sys.stderr)
        return 2
    print(f"model: {loaded.metadata['name']}  [{loaded.path or 'built in (no file)'}]")
    print(f"faces: synth {args.split} split, seed {args.seed}, {args.n} faces at {args.size} px")
    results = measure_attention_regions(loaded.model, args.n, args.seed, args.split, args.size)
    print(
        "| stage | map | parts vs rest of head, mass per pixel (pooled) | median per face "
        f"| faces >= {GOAL_RATIO:g}x | mass on parts | parts' share of head area |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.stage + 1} | {r.map_side}x{r.map_side} | {r.pooled_ratio:.2f}x | {r.median_ratio:.2f}x "
            f"| {r.share_at_goal:.0%} | {r.part_mass:.1%} | {r.part_area:.1%} |"
        )
    if args.json:
        payload = {
            "model": str(loaded.path),
            "n": args.n,
            "seed": args.seed,
            "split": args.split,
            "size": args.size,
            "stages": as_rows(results),
        }
        from model.io import write_text_atomic

        write_text_atomic(args.json, json.dumps(payload, indent=2))
        print(f"wrote {args.json}")
    return 0
