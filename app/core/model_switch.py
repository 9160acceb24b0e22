"""Which model the live worker runs next: requested from any thread, loaded without stopping the frames.

    models = ModelSwitcher(factory, ModelRequest(None, "auto", "cpu"))
    predictor = models.load_now()            # worker, at start: a failure is fatal (RuntimeError)
    models.request("my.pt", "onnx", "cpu")   # any thread, while running
    if models.pending:
        models.start_background_load()       # worker: an ONNX export may take seconds; frames go on
    prepared = models.take_prepared()        # worker, between frames: (request, predictor, error) or None

A load superseded by a newer request before it finished is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PredictorFactory = Callable[[str | Path | None, str, str], Any]  # (path, runtime, device) -> Predictor


@dataclass(frozen=True)
class ModelRequest:
    """A model the worker should run: a file (None: the default model), a runtime and a device."""

    path: str | Path | None
    runtime: str
    device: str

    def describe(self) -> str:
        """The model's name for messages."""
        return str(self.path) if self.path else "the default model"


class ModelSwitcher:
    """The requested model and the outcome of its background load."""

    def __init__(self, factory: PredictorFactory, request: ModelRequest) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._request = request
        self._pending = False
        self._generation = 0  # bumped per load; a background load of an older request is dropped
        self._prepared: tuple[int, Any, Exception | None] | None = None
        self._preloaded: tuple[ModelRequest, Any] | None = None  # built before the first start
        self._preloading: threading.Event | None = None  # set once a preload has ended
        self._preload_request: ModelRequest | None = None  # what that preload builds

    @property
    def pending(self) -> bool:
        """True when a request waits to be loaded."""
        return self._pending

    def request(self, path: str | Path | None, runtime: str, device: str) -> None:
        """Ask for another model (any thread); the worker loads it before or between frames."""
        with self._lock:
            self._request = ModelRequest(path, runtime, device)
            self._pending = True

    def _next(self) -> tuple[ModelRequest, int]:
        with self._lock:
            self._pending = False
            self._generation += 1
            return self._request, self._generation

    def preload(
        self, on_ready: Callable[[Any], None] | None = None, on_failed: Callable[[str], None] | None = None
    ) -> None:
        """Build the requested predictor in a loader thread now (at launch), so the first start finds it
        ready; `on_ready(predictor)` is called from that thread when it is, `on_failed(message)` when it
        cannot be built (the start loads again and reports it too). Neither is called when a newer
        choice was made meanwhile. A preload of the request already being preloaded does nothing."""
        with self._lock:
            request = self._request
            if self._preloading is not None and self._preload_request == request:
                return
            self._preload_request = request
            self._preloading = done = threading.Event()

        def run() -> None:
            try:
                predictor = self._factory(request.path, request.runtime, request.device)
            except Exception as exc:  # noqa: BLE001 - reported, and the start loads again
                log.exception("preloading %s failed", request.describe())
                done.set()
                if on_failed is not None and self._request == request:
                    on_failed(f"model {request.describe()} could not be loaded ({request.runtime}, "
                              f"{request.device}): {exc}")
                return
            with self._lock:
                self._preloaded = (request, predictor)
                current = self._request == request  # a later choice makes this one stale
            done.set()
            if on_ready is not None and current:
                on_ready(predictor)

        threading.Thread(target=run, name="model-preloader", daemon=True).start()

    def load_now(self) -> Any:
        """The requested predictor, built in this thread (or taken from a preload of the same request);
        RuntimeError naming the model when it fails."""
        request, _ = self._next()
        if self._preloading is not None:
            self._preloading.wait()  # the loader is building it: waiting is quicker than building again
        with self._lock:
            preloaded, self._preloaded, self._preloading = self._preloaded, None, None
        if preloaded is not None and preloaded[0] == request:
            return preloaded[1]
        try:
            return self._factory(request.path, request.runtime, request.device)
        except Exception as exc:
            raise RuntimeError(f"model {request.describe()} could not be loaded ({request.runtime}, "
                               f"{request.device}): {exc}") from exc

    def start_background_load(self) -> ModelRequest:
        """Build the requested predictor in a loader thread; returns the request being loaded."""
        request, generation = self._next()
        threading.Thread(target=self._prepare, args=(request, generation), name="model-loader",
                         daemon=True).start()
        return request

    def _prepare(self, request: ModelRequest, generation: int) -> None:
        """Loader thread: build the predictor and leave it (or the error) for the worker to take."""
        try:
            outcome = (generation, self._factory(request.path, request.runtime, request.device), None)
        except Exception as exc:  # noqa: BLE001 - reported by the worker as an "error" event
            log.exception("model %s could not be loaded", request.describe())
            outcome = (generation, None, exc)
        with self._lock:
            self._prepared = outcome

    def take_prepared(self) -> tuple[ModelRequest, Any, Exception | None] | None:
        """The latest request's finished load as (request, predictor or None, error or None); None while
        nothing new is ready, or when a newer request superseded the finished one."""
        with self._lock:
            if self._prepared is None:
                return None
            (generation, predictor, error), self._prepared = self._prepared, None
            if generation != self._generation:
                return None
            return self._request, predictor, error
