"""`affectscope export`: export a model to one self-contained ONNX file, checked against torch."""

from __future__ import annotations

import argparse
import sys

NAME = "export"
HELP = "export a model to one self-contained ONNX file"


def register(subparsers) -> None:
    """Add the `export` subcommand to `subparsers`."""
    from_defaults = "the default model, assets/models/starter.pt; 'untrained' for random weights"
    parser = subparsers.add_parser(
        NAME,
        help=HELP,
        description=f"{HELP}. Prints the torch/onnxruntime parity for batches 1 and 3 and exits with "
        "code 1 when any output differs by more than 1e-4.",
    )
    parser.add_argument(
        "--model", metavar="CKPT", help=f".pt checkpoint to export (default: {from_defaults})"
    )
    parser.add_argument("--out", required=True, metavar="FILE.onnx", help="where to write the ONNX file")
    parser.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset (default 17)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, print the parity table; 0 on success, 1 on a parity failure, 2 on unusable input."""
    from app.core.model_store import open_model
    from model.export import DEFAULT_OPSET, export_onnx
    from model.io import describe_os_error

    try:
        loaded = open_model(args.model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"affectscope export: {exc}", file=sys.stderr)
        return 2
    source = loaded.path or "built in (no file)"
    print(f"model:  {loaded.metadata['name']}  [{source}]")
    if loaded.metadata["untrained"]:
        print("note:   this model is UNTRAINED (random weights, asked for by name); its outputs mean nothing")
    try:
        report = export_onnx(loaded.model, args.out, loaded.metadata, opset=args.opset or DEFAULT_OPSET)
    except OSError as exc:
        print(f"affectscope export: {describe_os_error(args.out, exc)}", file=sys.stderr)
        return 2
    print(f"wrote:  {report.path} ({report.size_bytes / 1e6:.1f} MB, opset {report.opset}, one file)")
    print(report.parity_table())
    if not report.passed:
        print(
            f"affectscope export: onnxruntime differs from torch by {report.max_abs_diff:.2e} "
            f"(> {report.tolerance:.0e}); do not use this file",
            file=sys.stderr,
        )
        return 1
    return 0
