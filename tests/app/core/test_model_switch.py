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


def test_a_preload_that_fails_says_why_and_the_start_tries_again():
    def broken(path, runtime, device):
        raise ValueError(f"{path} is not a checkpoint")

    models = ModelSwitcher(broken, ModelRequest("bad.pt", "torch", "cpu"))
    failed = threading.Event()
    messages: list[str] = []
    models.preload(on_failed=lambda message: (messages.append(message), failed.set()))
    assert failed.wait(10)
    assert "bad.pt" in messages[0] and "is not a checkpoint" in messages[0]
    try:
        models.load_now()
    except RuntimeError as exc:  # loaded again at start, and the error named once more
        assert "bad.pt" in str(exc)
    else:
        raise AssertionError("a broken model must not load at start")


def test_preloading_the_same_choice_twice_builds_it_once():
    factory = CountingFactory()
    models = ModelSwitcher(factory, ModelRequest(None, "auto", "cpu"))
    models.preload()
    models.preload()  # e.g. a command-line model applied as the window's own preload begins
    models.load_now()
    assert len(factory.calls) == 1
