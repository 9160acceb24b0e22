"""The shipped starter model's builder (docs/STARTER_DATA.md): teachers label a face pool, the project's
own trainer fits the student, held-out faces measure it, and a model card is written.

    options.py   `DistillOptions` (light: no torch)
    run.py       `distill(options, cancel)` and its events
    pool.py      the labelled view pools the student trains on
    views.py     augmented views of one face
    heldout.py   agreement with the teachers on held-out faces
    card.py      the model card
    teachers/    the licence-clean teacher networks

Only the `distill` command uses this package; the app's core and GUI may not import it.
"""

from __future__ import annotations

from model.lazy_exports import lazy_exports

_EXPORTS = {  # public name -> the module that defines it (imported on first use)
    "CARD_FILE": "model.distill.options",
    "DEFAULT_OUT": "model.distill.options",
    "SHA_FILE": "model.distill.options",
    "STARTER_FILE": "model.distill.options",
    "DistillOptions": "model.distill.options",
    "DistillCancelled": "model.distill.run",
    "DistillEvent": "model.distill.run",
    "distill": "model.distill.run",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
