"""The teacher ensemble: each teacher's probabilities mapped to AffectNet-8 order, then averaged.

Contempt has no teacher, so its ensemble probability is always 0; the other seven sum to 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from model.distill.teachers.base import FaceCrops, Teacher
from model.distill.teachers.faceapi_expression import load_faceapi_teacher
from model.distill.teachers.fer_xception import load_fer_teacher


class TeacherEnsemble(nn.Module):
    """Averages the AffectNet-ordered probabilities of several teachers (equal weights)."""

    def __init__(self, teachers: Sequence[Teacher]) -> None:
        super().__init__()
        if not teachers:
            raise ValueError("a teacher ensemble needs at least one teacher")
        self.teachers = nn.ModuleList(teachers)

    @property
    def names(self) -> list[str]:
        """The member teachers' names, in ensemble order."""
        return [t.name for t in self.teachers]

    def per_teacher(self, crops: FaceCrops) -> dict[str, torch.Tensor]:
        """RGB face crops -> {teacher name: (B,8) AffectNet-ordered probabilities}."""
        return {t.name: t.predict_affectnet(crops) for t in self.teachers}

    def forward(self, crops: FaceCrops) -> torch.Tensor:
        """RGB face crops (see `model.distill.teachers.base.resize_crops`) -> (B,8) averaged probabilities."""
        return torch.stack(list(self.per_teacher(crops).values())).mean(dim=0)  # (B,8)


def load_teacher_ensemble() -> TeacherEnsemble:
    """Both vendored teachers (fer mini-Xception and face-api expression net), in eval mode."""
    return TeacherEnsemble([load_fer_teacher(), load_faceapi_teacher()]).eval()
