"""Lab Streaming Layer: the live results as an LSL stream, the app's markers as another, and markers
from other programs (PsychoPy, Psychtoolbox, Unity, ...) into the session.

- `AffectOutlet`: one float32 stream (name `LslSettings.stream_name`, type `FacialAffect`), one sample
  per processed frame, `face_slots` slots of `SLOT_CHANNELS` channels each after a `frame` channel.
  A face keeps its slot while it stays in view; an empty slot has present 0 and NaN elsewhere. The
  channel labels, units and types are in the stream's `desc` (XDF meta-data conventions:
  desc/channels/channel/{label,unit,type}). The nominal rate is irregular (0): the worker drops frames
  when it falls behind the camera, so samples do not come at the camera's rate. The sample's timestamp
  is the frame's **capture time** on the LSL clock, so it lines up with the other devices LabRecorder
  records. `source_id` is derived from the machine and the stream name, so it stays the same across
  restarts and recorders reconnect.
- `MarkerOutlet`: a string stream (type `Markers`, irregular rate) with the markers a user adds in the
  app and the recording's start and stop ("recording to FILE", "recording stopped: ...").
- `MarkerInlet`: a thread that reads a chosen marker stream and hands each marker to
  `LivePipeline.add_marker_at` at its time on this machine's clock (`time_correction()` applied), so
  it lands on the row of the first frame captured at or after that time. A stream that disappears is
  reported once and resolved again until it is back.
- `list_marker_streams()`: the marker streams on the network (name, type, host, source_id).
- `LslLink`: all of the above for one `LivePipeline`, as the Live tab and the `stream` command use it:
  outlets on and off, consumer status, the app's markers out, one chosen marker stream in.

The clocks: pylsl's `local_clock()` and `time.perf_counter()` are both monotonic clocks of this
machine; their offset is measured once per outlet/inlet (`clock_offset`), so a capture time in
perf_counter seconds becomes LSL time by adding it. The pipeline's worker only queues a sample; the
outlet's thread pushes it into liblsl, which never blocks (samples wait in liblsl's own buffer), so
publishing never slows the pipeline.

Tests keep LSL on this machine with a config file named by LSLAPICFG (see tests/app/core/test_lsl.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.core.packets import FramePacket, PipelineEvent
from app.core.settings import GOOD_QUALITY, LslSettings
from model.config import CLASS_NAMES

log = logging.getLogger(__name__)

STREAM_TYPE = "FacialAffect"
IRREGULAR_RATE = 0.0  # LSL's nominal rate for samples that do not come at a fixed rate
_EVERY_STREAM = 1_000_000  # a resolve's `minimum` that is never reached: wait the whole timeout
MARKER_TYPE = "Markers"
# (label, unit, type) of each channel of one face slot
SLOT_CHANNELS: tuple[tuple[str, str, str], ...] = (
    ("present", "boolean", "Status"),
    ("face_id", "id", "Status"),
    ("valence", "normalized", "Valence"),
    ("arousal", "normalized", "Arousal"),
    ("valence_smoothed", "normalized", "Valence"),
    ("arousal_smoothed", "normalized", "Arousal"),
    ("valence_corrected", "normalized", "Valence"),
    ("arousal_corrected", "normalized", "Arousal"),
    *((f"p_{name}", "probability", "Expression") for name in CLASS_NAMES),
    ("box_x", "pixels", "Position"),
    ("box_y", "pixels", "Position"),
    ("box_w", "pixels", "Size"),
    ("box_h", "pixels", "Size"),
    ("quality_good", "boolean", "Quality"),  # 1 good, 0 low (app.core.face_quality), NaN when not measured
    ("valence_std", "normalized", "Uncertainty"),  # NaN for a model without the uncertainty head
    ("arousal_std", "normalized", "Uncertainty"),
)


def _pylsl():
    """pylsl, imported on first use (it loads liblsl)."""
    import pylsl

    return pylsl


def clock_offset() -> float:
    """LSL clock minus time.perf_counter(), in seconds (both monotonic clocks of this machine)."""
    pylsl = _pylsl()
    samples = []
    for _ in range(5):  # the pair read closest together wins
        t0 = time.perf_counter()
        lsl = pylsl.local_clock()
        t1 = time.perf_counter()
        samples.append((t1 - t0, lsl - (t0 + t1) / 2.0))
    return min(samples)[1]


def channel_labels(face_slots: int) -> list[str]:
    """Every channel's label: `frame`, then `face1_present`, `face1_face_id`, ... per slot."""
    return ["frame"] + [f"face{slot}_{label}" for slot in range(1, face_slots + 1)
                        for label, _, _ in SLOT_CHANNELS]


def source_id(stream_name: str) -> str:
    """A source id that stays the same for this machine and stream name across restarts."""
    digest = hashlib.sha1(f"{socket.gethostname()}/{stream_name}".encode()).hexdigest()[:12]
    return f"affectscope-{digest}"


class SlotMap:
    """Which slot each face id holds: a face keeps its slot while in view; new faces take free slots."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._held: dict[int, int] = {}

    def assign(self, face_ids: list[int]) -> dict[int, int]:
        """face id -> slot (0-based) for the faces of one frame; faces beyond the slots get none."""
        current = set(face_ids)
        self._held = {fid: slot for fid, slot in self._held.items() if fid in current}
        free = [s for s in range(self.slots) if s not in self._held.values()]
        for fid in face_ids:
            if fid not in self._held and free:
                self._held[fid] = free.pop(0)
        return dict(self._held)


def packet_sample(packet: FramePacket, slot_map: SlotMap) -> list[float]:
    """One stream sample for `packet`: frame index, then each slot's channels (NaN where empty)."""
    per_slot = len(SLOT_CHANNELS)
    sample = [float(packet.frame_index)] + [math.nan] * (per_slot * slot_map.slots)
    for slot in range(slot_map.slots):
        sample[1 + slot * per_slot] = 0.0  # present
    slots = slot_map.assign([f.face_id for f in packet.faces])
    for face in packet.faces:
        slot = slots.get(face.face_id)
        if slot is None:
            continue
        x, y, w, h = face.box
        none = math.nan
        values = [1.0, float(face.face_id), face.valence, face.arousal, face.valence_smoothed,
                  face.arousal_smoothed,
                  none if face.valence_corrected is None else face.valence_corrected,
                  none if face.arousal_corrected is None else face.arousal_corrected,
                  *(float(p) for p in face.probabilities), float(x), float(y), float(w), float(h),
                  none if face.quality is None else float(face.quality.verdict == GOOD_QUALITY),
                  none if face.valence_std is None else face.valence_std,
                  none if face.arousal_std is None else face.arousal_std]
        start = 1 + slot * per_slot
        sample[start : start + per_slot] = values
    return sample


class AffectOutlet:
    """The results stream; `publish(packet)` is a LivePipeline publisher (see the module docstring)."""

    def __init__(self, settings: LslSettings) -> None:
        """Create the outlet (it is visible on the network at once), irregular rate."""
        pylsl = _pylsl()
        self.settings = settings
        labels = channel_labels(settings.face_slots)
        info = pylsl.StreamInfo(settings.stream_name, STREAM_TYPE, len(labels), IRREGULAR_RATE,
                                pylsl.cf_float32, source_id(settings.stream_name))
        desc = info.desc()
        desc.append_child_value("manufacturer", "AffectScope")
        desc.append_child_value("face_slots", str(settings.face_slots))
        channels = desc.append_child("channels")
        meta = [("index", "Frame")] + [(unit, kind) for _ in range(settings.face_slots)
                                       for _, unit, kind in SLOT_CHANNELS]
        for label, (unit, kind) in zip(labels, meta, strict=True):
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", unit)
            channel.append_child_value("type", kind)
        self._outlet = pylsl.StreamOutlet(info)
        self._offset = clock_offset()
        self._slots = SlotMap(settings.face_slots)
        self.samples = 0  # pushed to liblsl
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pusher = threading.Thread(target=self._push_queued, name="lsl-outlet", daemon=True)
        self._pusher.start()

    def publish(self, packet: FramePacket) -> None:
        """Queue the packet's sample, stamped with its capture time on the LSL clock (~25 us).

        The push into liblsl happens in the outlet's own thread: pylsl's ctypes call releases Python's
        GIL, and getting it back behind the capture thread cost the worker 1.5 ms (p50) to 5 ms (p95)
        per frame when it pushed itself (docs/BENCHMARKS.md).
        """
        stamp = packet.captured_at + self._offset if packet.captured_at else _pylsl().local_clock()
        self._queue.put((packet_sample(packet, self._slots), stamp))

    def _push_queued(self) -> None:
        while (item := self._queue.get()) is not None:
            self._outlet.push_sample(*item)
            self.samples += 1

    def consumers(self) -> bool:
        """True while some inlet (a recorder, a viewer) is connected."""
        return self._outlet is not None and bool(self._outlet.have_consumers())

    def close(self) -> None:
        """Push what is queued, then take the stream off the network."""
        self._queue.put(None)
        self._pusher.join(5.0)
        self._outlet = None


class MarkerOutlet:
    """The app's markers as an LSL `Markers` string stream (irregular rate)."""

    def __init__(self, settings: LslSettings) -> None:
        pylsl = _pylsl()
        name = f"{settings.stream_name}-Markers"
        info = pylsl.StreamInfo(name, MARKER_TYPE, 1, IRREGULAR_RATE, pylsl.cf_string, source_id(name))
        self._outlet = pylsl.StreamOutlet(info)

    def send(self, text: str) -> None:
        """Push one marker now."""
        self._outlet.push_sample([text])

    def on_event(self, event: PipelineEvent) -> None:
        """Send recording start/stop as markers (pass the pipeline's events here)."""
        if event.kind == "recording":
            self.send(event.message)


@dataclass(frozen=True)
class StreamChoice:
    """A stream found on the network."""

    name: str
    type: str
    host: str
    source_id: str

    def describe(self) -> str:
        """"name (type) on host"."""
        return f"{self.name} ({self.type}) on {self.host}"


def list_marker_streams(timeout_s: float = 1.0) -> list[StreamChoice]:
    """The marker streams (type Markers, string) that answer within `timeout_s` (it waits all of it: a
    resolve that returned at the first answer would list only the quickest stream)."""
    pylsl = _pylsl()
    found = pylsl.resolve_byprop("type", MARKER_TYPE, minimum=_EVERY_STREAM, timeout=timeout_s)
    return sorted({StreamChoice(i.name(), i.type(), i.hostname(), i.source_id()) for i in found},
                  key=lambda c: (c.name, c.host))


class MarkerInlet:
    """Reads a marker stream in a thread and hands each marker to `deliver(text, perf_counter_time)`;
    reports the stream's loss and return through `report(message)`."""

    def __init__(self, choice: StreamChoice, deliver: Callable[[str, float], None],
                 report: Callable[[str], None] = lambda message: None,
                 resolve_timeout_s: float = 1.0) -> None:
        self.choice = choice
        self._deliver = deliver
        self._report = report
        self._timeout = resolve_timeout_s
        self._stop = threading.Event()
        self.connected = threading.Event()  # set while the stream is open
        self.received = 0
        self._thread = threading.Thread(target=self._run, name="lsl-marker-inlet", daemon=True)
        self._thread.start()

    def _resolve(self):
        pylsl = _pylsl()
        while not self._stop.is_set():
            found = pylsl.resolve_byprop("source_id", self.choice.source_id, timeout=self._timeout)
            if found:
                inlet = pylsl.StreamInlet(found[0], recover=False)
                try:
                    inlet.open_stream(timeout=5.0 * self._timeout)
                except Exception:  # noqa: BLE001 - a busy or vanishing peer: resolve again
                    log.warning("marker stream %s did not open; trying again", self.choice.describe())
                    continue
                return inlet
        return None

    def _run(self) -> None:
        from pylsl.util import LostError

        offset = clock_offset()
        lost = False
        while not self._stop.is_set():
            inlet = self._resolve()
            if inlet is None:
                return
            if lost:
                self._report(f"marker stream {self.choice.describe()} is back")
                lost = False
            try:
                correction = inlet.time_correction(timeout=5.0 * self._timeout)
                self.connected.set()
                while not self._stop.is_set():
                    sample, stamp = inlet.pull_sample(timeout=0.2)
                    if sample is None or self._stop.is_set():  # nothing after close()
                        continue
                    self.received += 1
                    self._deliver(str(sample[0]), stamp + correction - offset)
            except LostError:
                self.connected.clear()
                lost = True
                self._report(f"marker stream {self.choice.describe()} disappeared; looking for it again")
            except Exception:  # noqa: BLE001 - reported, then resolved again
                log.exception("marker inlet %s failed", self.choice.describe())
                self.connected.clear()
                lost = True
                self._report(f"marker stream {self.choice.describe()} failed; looking for it again")

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop reading (nothing is delivered after this call); waits up to `timeout_s` for the thread,
        which may be inside a resolve or a time correction of a few seconds (0: do not wait)."""
        self._stop.set()
        if timeout_s > 0:
            self._thread.join(timeout_s)


class LslLink:
    """The LSL side of one live pipeline (shared by the Live tab and `affectscope stream`).

    `enable(settings)` puts the results and marker outlets on the network and makes the results outlet
    a publisher of the pipeline; `disable()` takes them off. `listen(choice)` reads one marker stream
    into the pipeline (`add_marker_at`); `stop_listening()` ends it. `report(message)` receives the
    inlet's loss/return notices from its thread. Pass `on_event` the pipeline's events (recording
    start/stop become markers) and `send_marker` the user's markers.
    """

    def __init__(self, pipeline, report: Callable[[str], None] = lambda message: None) -> None:
        self._pipeline = pipeline
        self._report = report
        self._affect: AffectOutlet | None = None
        self._markers: MarkerOutlet | None = None
        self._inlet: MarkerInlet | None = None
        self.settings: LslSettings | None = None

    @property
    def enabled(self) -> bool:
        """True while the outlets are on the network."""
        return self._affect is not None

    def enable(self, settings: LslSettings) -> None:
        """Open (or re-open, with new settings) the outlets; raises RuntimeError when liblsl fails."""
        self.disable()
        try:
            affect, markers = AffectOutlet(settings), MarkerOutlet(settings)
        except Exception as exc:  # liblsl raises RuntimeError/OSError variants on a broken network stack
            raise RuntimeError(f"the LSL outlets could not be created: {exc}") from exc
        self._affect, self._markers, self.settings = affect, markers, settings
        self._pipeline.add_publisher(affect.publish)
        log.info("LSL outlets %s and %s-Markers on", settings.stream_name, settings.stream_name)

    def disable(self) -> None:
        """Take the outlets off the network (a recorder sees the stream end)."""
        if self._affect is not None:
            self._pipeline.remove_publisher(self._affect.publish)
            self._affect.close()
            log.info("LSL outlets off after %d samples", self._affect.samples)
        self._affect = self._markers = None

    @property
    def samples(self) -> int:
        """Samples pushed by the current results outlet (0 while disabled)."""
        return 0 if self._affect is None else self._affect.samples

    def consumers(self) -> bool:
        """True while some inlet (LabRecorder, a viewer) reads the results stream."""
        return self._affect is not None and self._affect.consumers()

    def status(self) -> str:
        """One line for a status display: off, or the stream and whether it has consumers."""
        if self._affect is None:
            return "LSL off"
        who = "consumer connected" if self.consumers() else "no consumer yet"
        return f"LSL {self.settings.stream_name}: {who}"

    def send_marker(self, text: str) -> None:
        """Send a marker the user added (nothing while disabled)."""
        if self._markers is not None:
            self._markers.send(text)

    def on_event(self, event: PipelineEvent) -> None:
        """Forward recording start/stop to the marker outlet."""
        if self._markers is not None:
            self._markers.on_event(event)

    def listen(self, choice: StreamChoice) -> MarkerInlet:
        """Read `choice`'s markers into the pipeline (replacing the stream read so far)."""
        self.stop_listening()
        self._inlet = MarkerInlet(choice, self._pipeline.add_marker_at, self._report)
        log.info("reading markers from %s", choice.describe())
        return self._inlet

    @property
    def listening_to(self) -> StreamChoice | None:
        """The marker stream being read, or None."""
        return None if self._inlet is None else self._inlet.choice

    def inlet_connected(self) -> bool:
        """True while the chosen marker stream is open."""
        return self._inlet is not None and self._inlet.connected.is_set()

    def stop_listening(self, wait: bool = False) -> None:
        """Stop reading markers at once; `wait` also joins the inlet's thread (the GUI does not wait:
        the thread may be inside a resolve of a few seconds, and it delivers nothing after this)."""
        if self._inlet is not None:
            self._inlet.close(timeout_s=3.0 if wait else 0.0)
            self._inlet = None

    def close(self) -> None:
        """Stop reading (waiting for the inlet's thread) and take the outlets off the network."""
        self.stop_listening(wait=True)
        self.disable()
