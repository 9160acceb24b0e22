"""The live pipeline: a capture thread and an inference worker joined by a one-slot latest-frame holder.

    pipeline = LivePipeline(on_packet=show, on_event=report)    # callbacks run in the pipeline's threads
    pipeline.start(CameraSource(0))                             # returns at once; opens in the thread
    pipeline.set_model("my.pt", runtime="onnx", device="cpu")   # swapped between two frames
    pipeline.start_recording("sessions/P01", participant="P01")
    summary = pipeline.stop_recording()
    pipeline.stop()                                             # joins both threads (bounded time)

Capture thread: opens the source (while the worker loads the model), then reads frames and puts them
into the `LatestSlot`; it never waits for the model, so a frame the worker has not taken yet is replaced
and counted as dropped. File sources are played at their frame rate. A source that cannot be opened or
a camera that stops delivering frames gives an "error" event naming the camera and the cause, and the
FAULTED state; `start` works again.

Inference worker: creates the predictor and its own `FaceFinder` (the settings' live plan) inside its
thread, then per frame: find faces (the whole frame, a few tiles of a sweep, and where the tracker
expects its faces) -> track (faces the detector missed are carried for a moment, `detected=False`) ->
square crops at the model's input size -> one predictor batch for all faces -> smoothing -> neutral
baseline -> one frozen `FramePacket` passed to `on_packet`, and to the session recorder when one runs
(all recorder writes happen here).

Callbacks: `on_packet(FramePacket)` is called from the worker thread; `on_event(PipelineEvent)` from the
worker, the capture thread or the caller's thread. A GUI must forward both to its own thread (a Qt
signal connected to a slot). State changes are events of kind "state" carrying the new `PipelineState`.

Length: one class of about 450 lines, kept whole because the life cycle of its two threads and the
controls that cross them are read together. Its parts live beside it: `markers`, `model_switch`,
`worker_calls`, `rate_meter`, `face_step` and `settings.PipelineSettings`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.core.baseline import BaselineState, BaselineStatus, NeutralBaselines
from app.core.face_finder import FaceFinder
from app.core.face_names import FaceNames
from app.core.face_step import locate_faces, predict_located, with_post_processing
from app.core.latest import LatestSlot
from app.core.markers import MarkerQueue
from app.core.model_switch import ModelRequest, ModelSwitcher, PredictorFactory
from app.core.packets import FramePacket, PipelineEvent, PipelineState, PipelineStats
from app.core.rate_meter import RateMeter
from app.core.recorder import ModelInfo, RecorderError, SessionRecorder
from app.core.reid import Reidentifier
from app.core.settings import BaselineSettings, OutputSettings, PipelineSettings
from app.core.smoothing import FaceSmoothers
from app.core.sources import FrameSource, SourceError
from app.core.tracking import FaceTracker
from app.core.worker_calls import WorkerCalls
from model.runtimes import DEFAULT_RUNTIME

PacketCallback = Callable[[FramePacket], None]
EventCallback = Callable[[PipelineEvent], None]

log = logging.getLogger(__name__)
_LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING}  # other events are INFO


def open_default_predictor(path: str | Path | None, runtime: str, device: str) -> Any:
    """The app's predictor for `path` (None: the default model), via app.core.model_store."""
    from app.core.model_store import open_predictor

    return open_predictor(path, runtime=runtime, device=device)


class PipelineError(RuntimeError):
    """A control call that does not fit the pipeline's state (e.g. start while running)."""


@dataclass(frozen=True)
class _Captured:
    """A frame as the capture thread hands it to the worker."""

    index: int  # frame number in the source, dropped frames included
    timestamp_s: float  # the source's timestamp
    wall_time: float  # Unix epoch seconds at capture
    captured_at: float  # time.perf_counter() at capture (latency reference)
    frame: np.ndarray  # (H,W,3) uint8 RGB


class LivePipeline:
    """Capture thread + inference worker with an explicit `PipelineState`; controls are thread-safe."""

    def __init__(
        self,
        on_packet: PacketCallback | None = None,
        on_event: EventCallback | None = None,
        settings: PipelineSettings | None = None,
        model_path: str | Path | None = None,
        runtime: str = DEFAULT_RUNTIME,
        device: str = "cpu",
        predictor_factory: PredictorFactory = open_default_predictor,
    ) -> None:
        """Nothing runs until `start`; the model is loaded in the worker thread at `start`."""
        self.on_packet = on_packet
        self.on_event = on_event
        self.settings = settings or PipelineSettings()
        self.smoothers = FaceSmoothers("none")
        self.baselines = NeutralBaselines()
        self.names = FaceNames()  # participant labels of face ids, written to every row
        self._models = ModelSwitcher(predictor_factory, ModelRequest(model_path, runtime, device))
        self._detector_pending = False
        self._lock = threading.Lock()
        self._state = PipelineState.STOPPED
        self._fault = ""
        self._calls = WorkerCalls()
        self._stop = threading.Event()
        self._ready = threading.Event()  # set by the worker once model and detector are loaded
        self._slot: LatestSlot[_Captured] = LatestSlot()
        self._capture_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None
        self._source: FrameSource | None = None
        self._recorder: SessionRecorder | None = None
        self._markers = MarkerQueue()
        self._publishers: tuple[Callable[[FramePacket], None], ...] = ()
        self._active_ids: list[int] = []  # face ids the tracker holds (worker thread)
        self._tracker: FaceTracker | None = None  # the worker's, while it runs
        self._reid: Reidentifier | None = None
        self._capture_rate = RateMeter()
        self._stats = PipelineStats(device=device, runtime=runtime)
        self.predictor: Any = None  # owned by the worker thread while it runs

    # ------------------------------------------------------------------------------------ state

    @property
    def state(self) -> PipelineState:
        """The current life-cycle state."""
        return self._state

    @property
    def stats(self) -> PipelineStats:
        """The figures of the last processed frame (capture/processing fps, latencies, drops)."""
        return self._stats

    @property
    def fault(self) -> str:
        """The message of the error that faulted the pipeline ("" when none)."""
        return self._fault

    def _emit(self, kind: str, message: str, state: PipelineState | None = None, **detail: Any) -> None:
        """Log an event and send it to `on_event`; a failing callback must not take the pipeline down."""
        log.log(_LOG_LEVELS.get(kind, logging.INFO), "%s: %s", kind, message)
        if self.on_event is None:
            return
        try:
            self.on_event(PipelineEvent(kind=kind, message=message, state=state, detail=detail))
        except Exception:  # noqa: BLE001 - the receiver's bug is not the pipeline's fault
            pass

    def _set_state(self, state: PipelineState, message: str = "") -> None:
        """Change state (FAULTED sticks until the next start) and announce it."""
        with self._lock:
            sticky = self._state is PipelineState.FAULTED and state is not PipelineState.STARTING
            if self._state is state or sticky:
                return
            self._state = state
        self._emit("state", message or state.value, state=state)

    def _fail(self, message: str, **detail: Any) -> None:
        """Report an error, enter FAULTED and make both threads finish."""
        with self._lock:
            first = not self._fault
            self._fault = self._fault or message
        if first:
            self._emit("error", message, state=PipelineState.FAULTED, **detail)
        self._set_state(PipelineState.FAULTED, message)
        self._stop.set()
        self._slot.close()

    # --------------------------------------------------------------------------------- controls

    def start(self, source: FrameSource) -> None:
        """Start capturing from `source` (opened in the capture thread) and processing; returns at once."""
        if self._state in (PipelineState.STARTING, PipelineState.RUNNING):
            raise PipelineError(f"the pipeline is {self._state.value}; stop it before starting a source")
        self._join_threads()
        with self._lock:
            self._fault = ""
        self._markers.clear()
        self._calls = WorkerCalls()
        self.smoothers.clear()  # face ids restart with the new tracker
        self.baselines.clear()
        self._active_ids = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._slot = LatestSlot()
        self._source = source
        self._capture_rate = RateMeter()
        self._set_state(PipelineState.STARTING, f"starting {source.name}")
        self._worker_thread = threading.Thread(
            target=self._worker_main, name="affectscope-inference", daemon=True
        )
        self._capture_thread = threading.Thread(
            target=self._capture_main, args=(source,), name="affectscope-capture", daemon=True
        )
        self._worker_thread.start()
        self._capture_thread.start()

    def stop(self) -> None:
        """Stop both threads and wait for them (at most `settings.join_timeout_s` each); ends a recording.

        The state becomes STOPPED, except after a fault: FAULTED (and `fault`) stay until the next start.
        """
        if self._state in (PipelineState.STARTING, PipelineState.RUNNING):
            self._set_state(PipelineState.STOPPING)
        self._stop.set()
        self._slot.close()
        stuck = self._join_threads()
        if stuck:
            limit = self.settings.join_timeout_s
            self._emit("warning", f"{', '.join(stuck)} did not finish within {limit:.0f} s (a camera read is "
                       "blocking); it ends by itself when the read returns")
        if self._recorder is not None:  # the worker never ran (or is stuck): close the recording here
            self._finish_recording()
        self._set_state(PipelineState.STOPPED)

    def _join_threads(self) -> list[str]:
        """Join the threads of the previous run; names of those still alive after the timeout."""
        stuck = []
        for thread in (self._capture_thread, self._worker_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(self.settings.join_timeout_s)
                if thread.is_alive():
                    stuck.append(thread.name)
        return stuck

    def threads_alive(self) -> bool:
        """True while the capture or the inference thread of the last run is still running."""
        return any(t is not None and t.is_alive() for t in (self._capture_thread, self._worker_thread))

    def set_model(self, path: str | Path | None, runtime: str = DEFAULT_RUNTIME, device: str = "cpu") -> None:
        """Use another model, runtime ("auto"/"torch"/"onnx") or device ("cpu"/"cuda").

        While running, the new model is prepared in a background thread (an ONNX export can take
        seconds) while the current one keeps processing frames; the worker swaps them between two
        frames, and keeps the old one if loading fails (an "error" event says why). Otherwise it is
        used by the next `start`.
        """
        self._models.request(path, runtime, device)

    def preload_model(self) -> None:
        """Load the chosen model in the background now (at launch) so the first start is quick; an "info"
        event with the model's details (as at start, plus `predictor`) says when it is ready, a "warning"
        event why it could not be loaded."""
        def ready(predictor: Any) -> None:
            if self._state is PipelineState.STOPPED:  # the figures say what will run (no worker yet)
                self._stats = replace(self._stats, model_name=predictor.name, runtime=predictor.runtime,
                                      device=predictor.device)
            self._emit("info", f"model {predictor.name} loaded ({predictor.runtime}/{predictor.device}); "
                       "press Start", model=predictor.name, va_source=predictor.va_source,
                       untrained=predictor.untrained, predictor=predictor)

        self._models.preload(ready, lambda message: self._emit("warning", f"{message}; Start tries again"))

    def set_detector(
        self, model: str | None = None, min_confidence: float | None = None, max_faces: int | None = None
    ) -> None:
        """Change the face detector's model ("short"/"full"), score threshold or face limit.

        Values left None stay. Checked here (ValueError); a running worker rebuilds its detector before
        the next frame, otherwise the next `start` uses them.
        """
        changes = {k: v for k, v in (("detector_model", model), ("min_confidence", min_confidence),
                                     ("max_faces", max_faces)) if v is not None}
        settings = replace(self.settings, **changes)  # PipelineSettings validates itself
        with self._lock:
            self.settings = settings
            self._detector_pending = True

    def add_marker(self, text: str) -> None:
        """Attach a user event text to the next processed frame (packet and CSV `marker` column)."""
        self._markers.add(text)

    def add_marker_at(self, text: str, at: float) -> None:
        """Attach `text` to the first frame captured at or after `at` (time.perf_counter() seconds):
        markers received from other programs (LSL), timed on their own clock. A marker whose frame was
        already written goes to the next frame, with a log line saying how late it came."""
        self._markers.add_at(text, at)

    def merge_faces(self, face_id: int, into_id: int, timeout_s: float = 5.0) -> None:
        """Face `face_id` is the person of face `into_id` (the user says so): from the next frame it is
        reported as `into_id`, with `into_id`'s label (or its own), and re-identification learns it. A
        marker in the recording says so. ValueError when both faces are in view now."""
        if face_id == into_id:
            raise ValueError(f"face {face_id} cannot be merged into itself")

        def merge() -> None:
            self._tracker.relabel(face_id, into_id)
            if self._reid is not None:
                self._reid.merge(face_id, into_id)
            self.names.merged(face_id, into_id)

        self._calls.call(merge, lambda: self.names.merged(face_id, into_id), timeout_s, self._worker_alive)
        self.add_marker(f"face {face_id} merged into face {into_id}")

    def add_publisher(self, publisher: Callable[[FramePacket], None]) -> None:
        """Call `publisher(packet)` in the worker thread for every processed frame (after the recorder);
        it must not block (the LSL outlet pushes without waiting). Its errors are logged, not raised."""
        with self._lock:
            self._publishers = (*self._publishers, publisher)

    def remove_publisher(self, publisher: Callable[[FramePacket], None]) -> None:
        """Stop calling `publisher`."""
        with self._lock:
            self._publishers = tuple(p for p in self._publishers if p is not publisher)

    def set_smoothing(self, kind: str, **params: float) -> None:
        """Smoother for every face: "none", "ema" (alpha) or "one_euro" (min_cutoff, beta, d_cutoff).

        Raises ValueError for an unknown kind or bad parameters; filter state restarts.
        """
        self.smoothers.configure(kind, **params)

    def start_baseline(self, seconds: float = BaselineSettings.seconds, face_id: int | None = None) -> None:
        """Record the neutral baseline over `seconds` for `face_id`, or for every face in view when None."""
        if seconds <= 0:
            raise ValueError(f"baseline duration must be > 0 seconds, got {seconds}")
        if self._state is not PipelineState.RUNNING:
            raise PipelineError("start the pipeline before recording a neutral baseline")
        self._calls.put(lambda: self._begin_baseline(float(seconds), face_id))

    def clear_baseline(self, face_id: int | None = None) -> None:
        """Forget the baseline of `face_id` (every face when None); corrected V/A become empty again."""
        self.baselines.clear(face_id)
        self._emit("baseline", "baseline cleared" + (f" for face {face_id}" if face_id is not None else ""))

    def baseline_status(self, face_id: int) -> BaselineStatus:
        """State, progress and values of one face's neutral baseline."""
        return self.baselines.status(face_id)

    def start_recording(
        self,
        path: str | Path,
        participant: str = "",
        settings: dict[str, Any] | None = None,
        save_video: bool = False,
        timeout_s: float = 10.0,
    ) -> Path:
        """Start a session recording at `path` (NAME or NAME.csv); returns the CSV path actually used.

        The recorder is created and written by the worker thread. Raises PipelineError when not running,
        RecorderError when the files cannot be created.
        """
        if self._state is not PipelineState.RUNNING and self._state is not PipelineState.STARTING:
            raise PipelineError("start the pipeline before recording")

        def stopped() -> Path:
            raise PipelineError(f"the pipeline stopped before the recording could start: {self._fault}")

        return self._calls.call(lambda: self._open_recorder(path, participant, settings or {}, save_video),
                                stopped, timeout_s, self._worker_alive)

    def stop_recording(self, timeout_s: float = 10.0) -> dict[str, Any] | None:
        """End the recording and return its summary (None when none was running)."""
        return self._calls.call(self._finish_recording, self._finish_recording, timeout_s, self._worker_alive)

    def _worker_alive(self) -> bool:
        worker = self._worker_thread
        return worker is not None and worker.is_alive()

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until the worker has loaded model and detector; False when it failed or took too long."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                return self.state is PipelineState.RUNNING
            if self.state in (PipelineState.FAULTED, PipelineState.STOPPED):
                return False
        return False

    @property
    def is_recording(self) -> bool:
        """True while a session recording is running."""
        return self._recorder is not None and self._recorder.is_recording

    # ------------------------------------------------------------------------------ capture thread

    def _capture_main(self, source: FrameSource) -> None:
        """Open the source, then (once the worker is ready) read frames into the slot until stopped,
        the file ends or the camera is lost."""
        try:
            source.open()
        except SourceError as exc:
            self._fail(str(exc), source=source.name)
            return
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes an event, never a crash
            self._fail(f"Could not open {source.name}: {exc}", source=source.name)
            return
        self._emit("info", f"{source.name} opened: {source.width}x{source.height} @ {source.fps:.1f} fps",
                   source=source.describe())
        try:
            self._read_frames(source)
        except Exception as exc:  # noqa: BLE001
            log.exception("reading from %s failed", source.name)
            self._fail(f"Reading from {source.name} failed: {exc}", source=source.name)
        finally:
            try:
                source.close()
            finally:
                self._slot.close()

    def _read_frames(self, source: FrameSource) -> None:
        """The capture loop: never waits for the model (the slot drops); paces file sources."""
        while not self._ready.wait(0.05):  # no frame is read (and dropped) while the model loads
            if self._stop.is_set():
                return
        pace = self.settings.pace_files and not source.is_live
        start = time.perf_counter()
        index = 0
        while not self._stop.is_set():
            ok, frame, timestamp = source.read()
            if not ok:
                if source.is_live:
                    reason = source.end_reason or f"{source.name} stopped delivering frames"
                    self._fail(reason, source=source.name)
                else:
                    self._emit("info", f"finished: {source.end_reason}", source=source.name)
                return
            if pace:
                delay = start + timestamp - time.perf_counter()
                if delay > 0 and self._stop.wait(delay):
                    return
            now = time.perf_counter()
            self._capture_rate.tick(now)
            self._slot.put(_Captured(index, float(timestamp), time.time(), now, frame))
            index += 1

    # ----------------------------------------------------------------------------- worker thread

    def _worker_main(self) -> None:
        """Load model and detector in this thread, then process frames until the slot closes."""
        detector = None
        try:
            self._use_predictor(self._models.load_now())
            source = self._source
            detector = self._new_detector()
            settings = self.settings
            tracker = self._tracker = FaceTracker(settings.track_iou, settings.track_timeout_s,
                                                  settings.track_coast_s)
            reid = self._reid = Reidentifier() if settings.reidentify else None
            processing_rate = RateMeter()
            if not self._stop.is_set():
                self._set_state(PipelineState.RUNNING, f"running: {source.name if source else ''}")
            self._ready.set()
            while True:
                self._calls.run_pending()
                self._switch_model()
                if self._detector_pending:
                    detector.close()
                    detector = self._new_detector()
                item = self._slot.take(timeout=0.1)
                if item is None:
                    if self._slot.closed:
                        break
                    continue
                packet = self._process(item, detector, tracker, reid, processing_rate)
                self._deliver(packet)
            self._calls.run_pending()
        except Exception as exc:  # noqa: BLE001 - model/detector failures become an error event
            log.exception("the inference worker stopped")
            self._fail(f"Processing stopped: {exc}")
        finally:
            if detector is not None:
                detector.close()
            if self._recorder is not None:
                self._finish_recording()
            if not self._fault:
                self._set_state(PipelineState.STOPPED)

    def _new_detector(self) -> FaceFinder:
        """A face finder with the current settings' plan, owned by the calling (worker) thread."""
        with self._lock:
            plan = self.settings.plan()
            self._detector_pending = False
        return FaceFinder(plan)

    def _switch_model(self) -> None:
        """Worker side, between frames: start loading a requested model in the background, and use a
        loaded one (or report why it failed and keep the current one)."""
        if self._models.pending:
            request = self._models.start_background_load()
            self._emit("info", f"preparing {request.describe()} ({request.runtime}, {request.device}); the "
                       "current model keeps running until it is ready")
        prepared = self._models.take_prepared()
        if prepared is None:
            return
        request, predictor, error = prepared
        if error is not None:
            self._emit("error", f"Model {request.describe()} could not be loaded ({request.runtime}, "
                       f"{request.device}): {error}. Still using {self.predictor.name}.",
                       path=request.describe())
            return
        self._use_predictor(predictor)

    def _use_predictor(self, predictor: Any) -> None:
        """Make `predictor` the one the next frame runs on, and say so. A neutral baseline belongs to the
        model that measured it (another model's neutral face sits elsewhere), so a switch clears them."""
        previous = self.predictor
        self.predictor = predictor
        calibrated = self.baselines.face_ids()
        if previous is not None and previous is not predictor and calibrated:
            self.baselines.clear()
            faces = ", ".join(map(str, calibrated))
            self._emit("baseline", f"calibration cleared for face(s) {faces}: it was recorded with "
                       f"{previous.name}; calibrate again for {predictor.name}", cleared=calibrated)
        self._stats = replace(self._stats, model_name=predictor.name, runtime=predictor.runtime,
                              device=predictor.device)
        note = " (untrained: results are meaningless)" if predictor.untrained else ""
        self._emit("info", f"model {predictor.name} on {predictor.runtime}/{predictor.device}{note}",
                   model=predictor.name, va_source=predictor.va_source, untrained=predictor.untrained)

    def _process(
        self, item: _Captured, detector: FaceFinder, tracker: FaceTracker, reid: Reidentifier | None,
        rate: RateMeter,
    ) -> FramePacket:
        """Detect, track, crop, predict (one batch), smooth and baseline-correct one frame."""
        t0 = time.perf_counter()
        located, in_view = locate_faces(detector, tracker, item.frame, item.timestamp_s,
                                        self.settings.max_faces, reid)
        t1 = time.perf_counter()
        self._active_ids = tracker.active_ids
        self.smoothers.retain(self._active_ids)
        for face_id in tracker.retired:
            self.baselines.clear(face_id)
        predictor = self.predictor
        raw = predict_located(item.frame, located, predictor, pad=self.settings.crop_pad)
        t2 = time.perf_counter()
        faces = []
        for face in raw:
            face_id, valence, arousal = face.face_id, face.valence, face.arousal
            v_s, a_s = self.smoothers.update(face_id, valence, arousal, item.timestamp_s)
            was_recording = self.baselines.status(face_id).state is BaselineState.RECORDING
            v_c, a_c = self.baselines.update(face_id, valence, arousal, v_s, a_s, item.timestamp_s)
            if was_recording and v_c is not None:
                status = self.baselines.status(face_id)
                self._emit("baseline", f"baseline ready for face {face_id}: valence {status.valence:+.2f}, "
                           f"arousal {status.arousal:+.2f}", face_id=face_id, valence=status.valence,
                           arousal=status.arousal)
            faces.append(with_post_processing(face, v_s, a_s, v_c, a_c))
        faces = self.names.apply(faces)
        marker = self._markers.take_for(item.captured_at)
        rate.tick(time.perf_counter())
        self._stats = replace(
            self._stats, capture_fps=self._capture_rate.fps, processing_fps=rate.fps,
            detect_ms=(t1 - t0) * 1000.0, model_ms=(t2 - t1) * 1000.0,
            total_ms=(time.perf_counter() - item.captured_at) * 1000.0, dropped_frames=self._slot.dropped,
        )
        return FramePacket(
            frame_index=item.index, timestamp_s=item.timestamp_s, wall_time=item.wall_time, frame=item.frame,
            faces=faces, stats=self._stats, va_source=predictor.va_source, marker=marker,
            captured_at=item.captured_at, faces_in_view=max(in_view, len(faces)),
        )

    def _deliver(self, packet: FramePacket) -> None:
        """Hand the packet to the callback and the recorder; a recorder failure ends only the recording."""
        if self.on_packet is not None:
            self.on_packet(packet)
        for publisher in self._publishers:
            try:
                publisher(packet)
            except Exception:  # noqa: BLE001 - a consumer's failure must not stop the pipeline
                log.exception("a packet publisher failed")
        if self._recorder is not None and self._recorder.is_recording:
            try:
                self._recorder.write(packet)
            except RecorderError as exc:
                self._emit(exc.to_event().kind, str(exc), **exc.to_event().detail)
                if exc.fatal:
                    self._finish_recording()

    # ----------------------------------------------------------------------------------- helpers

    def _begin_baseline(self, seconds: float, face_id: int | None) -> None:
        """Worker side of `start_baseline`: start recording the baseline of the chosen faces."""
        self.baselines.duration_s = seconds
        targets = [face_id] if face_id is not None else list(self._active_ids)
        if not targets:
            self._emit("warning", "no face in view: the neutral baseline was not started")
            return
        for target in targets:
            self.baselines.start(target)
        self._emit("baseline", f"recording the neutral baseline of face(s) {', '.join(map(str, targets))} "
                   f"for {seconds:.0f} s: keep a relaxed, neutral face", face_ids=targets, seconds=seconds)

    def _open_recorder(self, path: str | Path, participant: str, settings: dict, save_video: bool) -> Path:
        """Worker side of `start_recording`: create the recorder (ending a running one first)."""
        if self._recorder is not None:
            self._finish_recording()
        source = self._source
        all_settings = {"pipeline": asdict(self.settings), "smoothing": self.smoothers.kind,
                        "smoothing_params": self.smoothers.params, **settings}
        try:
            self._recorder = SessionRecorder(
                path, model=ModelInfo.from_predictor(self.predictor), participant=participant,
                settings=all_settings, camera=source.describe() if source else {}, save_video=save_video,
                video_fps=source.fps if source and source.fps > 0 else 30.0,
                permissions=OutputSettings(self.settings.shared_files).permissions(),
            )
        except RecorderError as exc:
            self._emit("error", str(exc), **exc.to_event().detail)
            raise
        csv_path = self._recorder.paths.csv
        self._emit("recording", f"recording to {csv_path}", path=str(csv_path))
        return csv_path

    def _finish_recording(self) -> dict[str, Any] | None:
        """Stop the recorder (writing its summary); returns the summary, None when none ran."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        try:
            summary = recorder.stop()
        except RecorderError as exc:
            self._emit("error", str(exc))
            return None
        self._emit("recording", f"recording stopped: {recorder.rows_written} rows in {recorder.paths.csv}",
                   path=str(recorder.paths.csv), rows=recorder.rows_written)
        return summary
