"""The inference runtimes and the default one (no heavy imports: the command line's help reads these)."""

RUNTIMES = ("auto", "torch", "onnx")
# "auto": onnxruntime on the CPU (2.9-4.1x faster than eager torch there, docs/BENCHMARKS.md), from an
# export made once per checkpoint, parity-checked and cached; torch on a GPU.
DEFAULT_RUNTIME = "auto"
RUNTIME_HELP = (
    "inference runtime: auto (onnxruntime on the CPU, from an export made once per model and cached; "
    "torch on a GPU), torch, or onnx"
)
