"""Model switching and preloading: the first start takes the model loaded at launch."""

from __future__ import annotations

import threading

from app.core.model_switch import ModelRequest, ModelSwitcher


class CountingFactory:
    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, path, runtime, device):
        self.calls.append((path, runtime, device))
        self.threads.append(threading.current_thread())
        return object()


def test_a_preloaded_model_is_what_the_first_start_uses():
    factory = CountingFactory()
    models = ModelSwitcher(factory, ModelRequest(None, "auto", "cpu"))
    ready = threading.Event()
    models.preload(lambda predictor: ready.set())
    assert ready.wait(5)
    predictor = models.load_now()
    assert predictor is not None and factory.calls == [(None, "auto", "cpu")]  # built once, off-thread
    assert factory.threads[0] is not threading.main_thread()


def test_a_choice_made_after_the_preload_is_loaded_at_start():
    factory = CountingFactory()
    models = ModelSwitcher(factory, ModelRequest(None, "auto", "cpu"))
    models.preload()
    models.request("other.pt", "torch", "cpu")
    models.load_now()
    assert factory.calls[-1] == ("other.pt", "torch", "cpu")


def test_a_preload_overtaken_by_a_new_choice_is_not_announced():
    release = threading.Event()

    def slow(path, runtime, device):
        release.wait(5)
        return object()

    models = ModelSwitcher(slow, ModelRequest(None, "auto", "cpu"))
    announced: list = []
    models.preload(announced.append)
    models.request("other.pt", "torch", "cpu")  # chosen while the first one still loads
    release.set()
    models.load_now()  # waits for the preload, then loads the newer choice
    assert announced == []  # the status bar never names a model that will not run
