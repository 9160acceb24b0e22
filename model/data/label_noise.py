"""The label-noise recipe of the synthetic uncertainty fixture (light: the `synth` command reads its
defaults at start-up without OpenCV)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelNoise:
    """A share of degraded faces whose V/A labels carry N(0, sd^2) noise (clipped to [-1, 1])."""

    share: float = 0.3  # fraction of the images that are degraded and noisy (a minority, as poor frames are)
    sd: float = 0.3  # standard deviation of the label noise, V/A units
    blur_sigma: float = 0.025  # Gaussian blur of a degraded face, as a fraction of the image side
    contrast: float = 0.45  # a degraded face's contrast around its mean

    def __post_init__(self) -> None:
        if not (0.0 < self.share <= 1.0 and self.sd > 0.0):
            raise ValueError(f"label noise needs 0 < share <= 1 and sd > 0, got {self.share} and {self.sd}")
