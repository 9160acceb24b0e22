"""The inference runtimes and the default one (no heavy imports: the command line's help reads these)."""

ENGINES = ("torch", "onnx")  # the runtimes a model actually runs on
RUNTIMES = ("auto", *ENGINES)
# "auto": onnxruntime on the CPU (2.9-4.1x faster than eager torch there, docs/BENCHMARKS.md), from an
# export made once per checkpoint, parity-checked and cached; torch on a GPU.
DEFAULT_RUNTIME = "auto"
RUNTIME_HELP = (
    "inference runtime: auto (onnxruntime on the CPU, from an export made once per model and cached; "
    "torch on a GPU), torch, or onnx"
)

DEVICES = ("cpu", "cuda")
DEFAULT_DEVICE = "cpu"
DEVICE_HELP = "inference device: cpu, or cuda (an NVIDIA GPU with a CUDA build of torch)"


def available_devices() -> tuple[str, ...]:
    """The DEVICES a model can run on here: "cpu", plus "cuda" when torch sees a GPU."""
    import torch

    return DEVICES if torch.cuda.is_available() else (DEFAULT_DEVICE,)
