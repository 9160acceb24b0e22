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
