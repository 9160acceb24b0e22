"""`bench --model-only`: the network alone (a normalised batch in, the outputs out), timed.

Every backbone at 112/160/224 px, batch 1 and 8, in torch eager and in onnxruntime, plus the reference
EfficientNet-B0 classifier (HSEmotion's network: standard B0, 1000-class head, random weights) at 224 px,
batch 1. The headline ratios (default model vs reference, onnxruntime vs torch) come from one
interleaved block, so a busy machine slows every contender alike. Heavy imports happen inside the
functions: the command line imports this module at start-up.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.config import BACKBONE_NORMALIZATION
from model.runtimes import ENGINES

BACKBONES = tuple(BACKBONE_NORMALIZATION)  # every backbone the network offers
SIZES = (112, 160, 224)
BATCHES = (1, 8)
REFERENCE = "efficientnet_b0 (reference)"
REFERENCE_SIZE = 224
DEFAULT_REPEATS = 20  # full grid in a few minutes on a 2-core CPU
QUICK_REPEATS = 3
HEADLINE_FACTOR = 3  # the interleaved headline block runs this many times `repeats`
WARMUP = 2
GOAL_DEFAULT_VS_REFERENCE = 0.5  # default model per face <= 0.5x the reference
GOAL_ONNX_SPEEDUP = 2.0  # onnxruntime >= 2x faster than torch eager



def machine_info() -> dict[str, Any]:
    """CPU, thread counts, load and library versions, so a result file says where it was measured."""
    import numpy
    import onnx
    import onnxruntime
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "load_average_1min": os.getloadavg()[0],
        "torch_threads": torch.get_num_threads(),
        "onnxruntime_threads": torch.get_num_threads(),  # set equal on purpose, see _onnx_session
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "numpy": numpy.__version__,
    }


# --- measuring -------------------------------------------------------------------------------------


@dataclass
class _Subject:
    """One network at one input size, ready to run in both runtimes."""

    model: str  # "2att2mt" or REFERENCE
    backbone: str
    input_size: int
    params: int
    torch_module: Any
    onnx_session: Any
    parity_max_abs_diff: float | None  # torch vs onnxruntime (2Att-2Mt exports only)

    def runner(self, runtime: str, batch: int) -> Callable[[], None]:
        """A no-argument function running one forward pass of a random (batch,3,S,S) input."""
        import torch

        s = self.input_size
        x = torch.randn(batch, 3, s, s, generator=torch.Generator().manual_seed(batch))  # (B,3,S,S)
        if runtime == "torch":

            def run_torch() -> None:
                with torch.inference_mode():
                    self.torch_module(x)

            return run_torch
        feed = {"image": x.numpy()}

        def run_onnx() -> None:
            self.onnx_session.run(None, feed)

        return run_onnx


def _onnx_session(path: Path) -> Any:
    """onnxruntime CPU session with the same intra-op thread count as torch, for a fair comparison."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _prepare_2att2mt(backbone: str, size: int, workdir: Path) -> _Subject:
    """A random-weight 2Att-2Mt (seed 0) and its checked ONNX export."""
    import torch

    from model.config import ModelConfig
    from model.export import export_onnx
    from model.network import build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=backbone, input_size=size)).eval()
    path = workdir / f"{backbone}_{size}.onnx"
    report = export_onnx(model, path, {"name": f"bench {backbone} {size}", "untrained": True})
    if not report.passed:
        raise RuntimeError(f"ONNX export of {backbone} at {size} px failed parity:\n{report.parity_table()}")
    params = sum(p.numel() for p in model.parameters())
    return _Subject("2att2mt", backbone, size, params, model, _onnx_session(path), report.max_abs_diff)


def _prepare_reference(workdir: Path) -> _Subject:
    """The reference EfficientNet-B0 classifier (random weights) and its ONNX export."""
    import torch

    from model.backbones.efficientnet import efficientnet_b0_classifier
    from model.export import DEFAULT_OPSET, export_graph

    torch.manual_seed(0)
    model = efficientnet_b0_classifier().eval()
    path = workdir / "efficientnet_b0_reference.onnx"
    example = torch.randn(2, 3, REFERENCE_SIZE, REFERENCE_SIZE)  # (2,3,S,S)
    export_graph(model, example, path, ("logits",), opset=DEFAULT_OPSET)
    params = sum(p.numel() for p in model.parameters())
    return _Subject(REFERENCE, "efficientnet_b0", REFERENCE_SIZE, params, model, _onnx_session(path), None)


def _time_interleaved(runners: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """Milliseconds of each runner, called in turn `repeats` times after WARMUP untimed rounds."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for i in range(WARMUP + repeats):
        for name, fn in runners.items():
            start = time.perf_counter()
            fn()
            if i >= WARMUP:
                times[name].append((time.perf_counter() - start) * 1e3)
    return times


def _stats(times_ms: list[float], batch: int) -> dict[str, float]:
    """Median and p95 of the per-batch times, also divided by the batch (per face)."""
    import numpy as np

    t = np.asarray(times_ms)
    return {
        "median_ms_per_face": float(np.median(t)) / batch,
        "p95_ms_per_face": float(np.percentile(t, 95)) / batch,
        "median_ms_per_batch": float(np.median(t)),
    }


def _result(subject: _Subject, runtime: str, batch: int, times_ms: list[float]) -> dict[str, Any]:
    return {
        "model": subject.model,
        "backbone": subject.backbone,
        "input_size": subject.input_size,
        "batch": batch,
        "runtime": runtime,
        "params_millions": round(subject.params / 1e6, 3),
        "onnx_parity_max_abs_diff": subject.parity_max_abs_diff,
        "repeats": len(times_ms),
        **_stats(times_ms, batch),
    }


def _headline(
    default: _Subject, reference: _Subject, repeats: int
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Default model vs reference on both runtimes, batch 1, all four timed in one interleaved block.

    Returns the summary and the raw times keyed "model|runtime".
    """
    runners = {f"{s.model}|{rt}": s.runner(rt, 1) for s in (default, reference) for rt in ENGINES}
    timed = _time_interleaved(runners, repeats)
    per_face = {key: _stats(t, 1)["median_ms_per_face"] for key, t in timed.items()}
    d = {rt: per_face[f"{default.model}|{rt}"] for rt in ENGINES}
    r = {rt: per_face[f"{reference.model}|{rt}"] for rt in ENGINES}
    summary = {
        "default": {"backbone": default.backbone, "input_size": default.input_size, "ms_per_face": d},
        "reference": {"backbone": reference.backbone, "input_size": reference.input_size, "ms_per_face": r},
        "repeats": repeats,
        "default_vs_reference": {rt: d[rt] / r[rt] for rt in ENGINES},
        "onnx_speedup_default": d["torch"] / d["onnx"],
        "onnx_speedup_reference": r["torch"] / r["onnx"],
        "goals": {
            "default_vs_reference_max": GOAL_DEFAULT_VS_REFERENCE,
            "onnx_speedup_min": GOAL_ONNX_SPEEDUP,
            "default_vs_reference_met": all(d[rt] / r[rt] <= GOAL_DEFAULT_VS_REFERENCE for rt in ENGINES),
            "onnx_speedup_met": d["torch"] / d["onnx"] >= GOAL_ONNX_SPEEDUP,
        },
    }
    return summary, timed


def run_model_bench(
    repeats: int = DEFAULT_REPEATS, quick: bool = False, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Time every backbone/size/batch on both runtimes plus the reference; returns a JSON-able report.

    `quick` limits the grid to the default backbone at 112 px (the headline block still runs).
    """
    from model.config import ModelConfig

    say = progress or (lambda message: None)
    default_config = ModelConfig()
    backbones = (default_config.backbone,) if quick else BACKBONES
    sizes = (112,) if quick else SIZES
    machine = machine_info()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="affectscope-bench-") as tmp:
        workdir = Path(tmp)
        say("preparing the default model and the reference EfficientNet-B0")
        default = _prepare_2att2mt(default_config.backbone, default_config.input_size, workdir)
        reference = _prepare_reference(workdir)
        say(f"headline block: default vs reference, batch 1, {HEADLINE_FACTOR * repeats} interleaved repeats")
        headline, timed = _headline(default, reference, HEADLINE_FACTOR * repeats)
        results.extend(_result(reference, rt, 1, timed[f"{reference.model}|{rt}"]) for rt in ENGINES)
        del reference
        for backbone in backbones:
            for size in sizes:
                same_as_default = (backbone, size) == (default.backbone, default.input_size)
                subject = default if same_as_default else _prepare_2att2mt(backbone, size, workdir)
                for batch in BATCHES:
                    say(f"{backbone} {size} px batch {batch}")
                    timed = _time_interleaved({rt: subject.runner(rt, batch) for rt in ENGINES}, repeats)
                    results.extend(_result(subject, rt, batch, timed[rt]) for rt in ENGINES)
    machine["load_average_1min_end"] = os.getloadavg()[0]
    return {
        "benchmark": "model",
        "command": "python main.py bench --model-only"
        + (" --quick" if quick else "")
        + f" --repeats {repeats} --threads {machine['torch_threads']}",
        "quick": quick,
        "repeats": repeats,
        "warmup": WARMUP,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine,
        "headline": headline,
        "results": results,
    }


# --- reporting -------------------------------------------------------------------------------------


def format_model_report(report: dict[str, Any]) -> str:
    """Markdown tables: the grid (ms per face, torch vs onnxruntime) and the headline ratios vs the goals."""
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["model"], r["backbone"], r["input_size"], r["batch"], r["params_millions"]), {})[
            r["runtime"]
        ] = r
    lines = [
        "| network | params (M) | size | batch | torch ms/face median (p95) "
        "| onnxruntime ms/face median (p95) | onnx speedup |",
        "|---|---|---|---|---|---|---|",
    ]
    for (model, backbone, size, batch, params), by_rt in rows.items():
        name = f"2Att-2Mt {backbone}" if model == "2att2mt" else model
        t, o = by_rt["torch"], by_rt["onnx"]
        lines.append(
            f"| {name} | {params:.2f} | {size} | {batch} "
            f"| {t['median_ms_per_face']:.2f} ({t['p95_ms_per_face']:.2f}) "
            f"| {o['median_ms_per_face']:.2f} ({o['p95_ms_per_face']:.2f}) "
            f"| {t['median_ms_per_face'] / o['median_ms_per_face']:.2f}x |"
        )
    h = report["headline"]
    d, r = h["default"], h["reference"]
    ok = {True: "met", False: "NOT met"}
    lines += [
        "",
        f"Headline (batch 1, {h['repeats']} interleaved repeats; median ms per face):",
        "",
        "| | torch | onnxruntime | onnx speedup |",
        "|---|---|---|---|",
        f"| default 2Att-2Mt {d['backbone']} {d['input_size']} px | {d['ms_per_face']['torch']:.2f} "
        f"| {d['ms_per_face']['onnx']:.2f} | {h['onnx_speedup_default']:.2f}x |",
        f"| reference EfficientNet-B0 {r['input_size']} px | {r['ms_per_face']['torch']:.2f} "
        f"| {r['ms_per_face']['onnx']:.2f} | {h['onnx_speedup_reference']:.2f}x |",
        f"| default / reference | {h['default_vs_reference']['torch']:.2f}x "
        f"| {h['default_vs_reference']['onnx']:.2f}x | |",
        "",
        f"Goal default/reference <= {h['goals']['default_vs_reference_max']}x on both runtimes: "
        f"{ok[h['goals']['default_vs_reference_met']]}. "
        f"Goal onnxruntime >= {h['goals']['onnx_speedup_min']}x torch eager (default model): "
        f"{ok[h['goals']['onnx_speedup_met']]}.",
    ]
    m = report["machine"]
    lines.append(
        f"Machine: {m['cpu_count']} CPUs ({m['processor']}), "
        f"torch {m['torch']} with {m['torch_threads']} threads, "
        f"onnxruntime {m['onnxruntime']} with {m['onnxruntime_threads']} threads, load average "
        f"{m['load_average_1min']:.1f} -> {m['load_average_1min_end']:.1f}; {report['seconds']} s in all."
    )
    return "\n".join(lines)
