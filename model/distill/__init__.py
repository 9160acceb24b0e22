"""The shipped starter model's builder (docs/STARTER_DATA.md): teachers label a face pool, the project's
own trainer fits the student, held-out faces measure it, and a model card is written.

    run.py       `distill(options, cancel)`, its options and events
    pool.py      the labelled view pools the student trains on
    views.py     augmented views of one face
    heldout.py   agreement with the teachers on held-out faces
    card.py      the model card
    teachers/    the licence-clean teacher networks

Only the `distill` command uses this package; the app's core and GUI may not import it.
"""

from model.distill.run import (
    CARD_FILE,
    DEFAULT_OUT,
    SHA_FILE,
    STARTER_FILE,
    DistillCancelled,
    DistillEvent,
    DistillOptions,
    distill,
)

__all__ = [
    "CARD_FILE",
    "DEFAULT_OUT",
    "SHA_FILE",
    "STARTER_FILE",
    "DistillCancelled",
    "DistillEvent",
    "DistillOptions",
    "distill",
]
