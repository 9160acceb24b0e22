"""What a model's valence/arousal were learnt from, in words, from its checkpoint's metadata.

    line = va_provenance(predictor.metadata)
    line.short   # "V/A derived" | "V/A trained on 55 rows" | "V/A trained (no record)" | "untrained model"
    line.detail  # one sentence: the data, the rows with V/A labels, the validation CCC, and a caution

A yes/no "measured" badge misleads: 50 seconds on 55 images makes a V/A head "trained" but says little.
The line says how much, so a reader can judge. The training record is written by `model.train`
(`training.va_rows`, `training.metrics`); checkpoints from elsewhere say "no record".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

UNTRAINED = "untrained model"
FEW_VA_ROWS = 1000  # below this many V/A-labelled training rows the detail adds a caution (AffectNet: ~290k)


@dataclass(frozen=True)
class VaProvenance:
    """A model's V/A provenance: a few words for a badge and one sentence for its tooltip."""

    short: str
    detail: str
    caution: bool  # True when the V/A should not be read as measurements (derived, untrained, few rows)


def va_provenance(metadata: Mapping[str, Any]) -> VaProvenance:
    """The provenance of the V/A of the model whose checkpoint metadata is `metadata`."""
    if metadata.get("untrained"):
        return VaProvenance(UNTRAINED, "Random weights: the valence, arousal and expressions "
                            "carry no meaning.", True)
    if metadata.get("va_source") == "derived":
        return VaProvenance("V/A derived", "Valence and arousal are derived from the expression "
                            "probabilities (each class's place on the circumplex); the model was not trained "
                            "on V/A labels.", True)
    training = metadata.get("training") or {}
    rows = training.get("va_rows")
    if rows is None:
        return VaProvenance("V/A trained (no record)", "The model's V/A head was trained, but its checkpoint "
                            "does not say on what data or how well.", False)
    data = training.get("data") or "unknown data"
    where = f"stage {training['stage']}, epoch {training['epoch']}" if "stage" in training else ""
    metrics = training.get("metrics") or {}
    ccc = ""
    if "ccc_v" in metrics and "ccc_a" in metrics:
        ccc = f"; validation CCC valence {metrics['ccc_v']:.2f}, arousal {metrics['ccc_a']:.2f}"
    few = rows < FEW_VA_ROWS
    caution = (f" Only {rows} rows: treat the V/A as indicative, not as measurements." if few else "")
    detail = (f"V/A head trained on {rows} rows with V/A labels of {data}"
              f"{f' ({where})' if where else ''}{ccc}.{caution}")
    return VaProvenance(f"V/A trained on {rows} rows", detail, few)
