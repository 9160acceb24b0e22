"""The About window: version, the model card of the bundled model (or the untrained-model notice), the
model in use, and the licences. Shown non-modally (Help > About)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from app.core.logs import log_dir
from app.core.recorder import app_version
from model.assets import asset_path

MODEL_CARD = asset_path("models", "MODEL_CARD.md")
USER_GUIDE = asset_path("guide", "USER_GUIDE.md")
# (title, file name): read from the installed package's metadata, else from the source checkout
LICENCE_FILES = (
    ("AffectScope", "LICENSE"),
    ("Third-party notices", "THIRD_PARTY_NOTICES.md"),
)
CHECKOUT = Path(__file__).resolve().parents[2]
UNTRAINED_NOTICE = (
    "## No trained model is bundled\n\n"
    "`assets/models/MODEL_CARD.md` is missing, so this installation has no trained default model. The "
    "app then runs a freshly initialised 2Att-2Mt network and labels every result **untrained model**: "
    "its valence, arousal and expressions carry no meaning.\n\n"
    "Train or fine-tune a model in the Training tab (or `python main.py train`) and choose it with "
    "Model > Choose model file."
)


def model_card_text() -> str:
    """The bundled model card (Markdown), or the notice explaining that no trained model is bundled."""
    try:
        return MODEL_CARD.read_text(encoding="utf-8")
    except OSError:
        return UNTRAINED_NOTICE


def _licence_text(name: str) -> str | None:
    """A licence file's text from the installed distribution (dist-info/licenses), else the checkout."""
    try:
        text = metadata.distribution("affectscope").read_text(f"licenses/{name}")
    except metadata.PackageNotFoundError:
        text = None
    if text is None and (CHECKOUT / name).is_file():
        text = (CHECKOUT / name).read_text(encoding="utf-8")
    return text


def licences_text() -> str:
    """The licence files that exist, each under a heading, as Markdown (code blocks keep their layout)."""
    parts = []
    for title, name in LICENCE_FILES:
        text = _licence_text(name)
        if text is None:
            continue
        body = text if name.endswith(".md") else f"```\n{text}\n```"
        parts.append(f"## {title} ({name})\n\n{body}")
    detector = asset_path("detector", "LICENSE")
    if detector.is_file():
        text = detector.read_text(encoding="utf-8")
        parts.append(f"## Face detector models (assets/detector/LICENSE)\n\n```\n{text}\n```")
    return "\n\n".join(parts) or "No licence files were found next to the application."


class AboutDialog(QDialog):
    """Tabs "About", "Model card" and "Licences"; opened with show() (never blocks the window)."""

    def __init__(self, model_summary: str, parent: QWidget | None = None) -> None:
        """`model_summary`: one Markdown line about the model in use (name, runtime, labels)."""
        super().__init__(parent)
        self.setWindowTitle("About AffectScope")
        self.resize(720, 560)
        self.tabs = QTabWidget()
        about = (f"# AffectScope {app_version()}\n\nContinuous valence/arousal and the 8 AffectNet "
                 "expressions with the 2Att-2Mt network (Wang et al., arXiv:1811.12139), offline.\n\n"
                 f"**Model in use:** {model_summary}\n\n"
                 f"**Log files:** `{log_dir()}` (Help > Open the log folder; run with `--verbose` to see "
                 "them in the terminal)\n")
        pages = (("About", about), ("Model card", model_card_text()), ("Licences", licences_text()))
        for title, text in pages:
            view = QTextBrowser()
            view.setOpenExternalLinks(True)
            view.setMarkdown(text)
            self.tabs.addTab(view, title)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def text_of(self, title: str) -> str:
        """The plain text of the tab called `title` (for checks and accessibility)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                return self.tabs.widget(i).toPlainText()
        raise KeyError(f"no tab {title!r} in the About window")


class GuideDialog(QDialog):
    """The user guide (assets/guide/USER_GUIDE.md), shown non-modally (Help > User guide, F1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        """Read and show the guide; a missing file says how to restore it."""
        super().__init__(parent)
        self.setWindowTitle("AffectScope user guide")
        self.resize(760, 640)
        self.view = QTextBrowser()
        try:
            self.view.setMarkdown(USER_GUIDE.read_text(encoding="utf-8"))
        except OSError as exc:
            self.view.setPlainText(f"The user guide {USER_GUIDE} cannot be read ({exc}); reinstall "
                                   "AffectScope or restore assets/guide/ from the repository.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)

