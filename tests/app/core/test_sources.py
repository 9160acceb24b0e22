"""Frame sources: video file, image folder, demo, camera errors and camera listing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.core import sources
from app.core.detection import FaceDetector
from app.core.sources import (
    CameraInfo,
    CameraSource,
    DemoSource,
    ImageSource,
    SourceError,
    VideoFileSource,
    list_cameras,
)
from tests.app.core.videos import write_video


def _solid(rgb: tuple[int, int, int], size=(64, 48)) -> np.ndarray:
    return np.full((size[1], size[0], 3), rgb, np.uint8)


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_video_file_frames_are_rgb_with_timestamps(tmp_path, suffix):
    frames = [_solid((220, 20, 20))] * 3 + [_solid((20, 20, 220))] * 2
    path = write_video(tmp_path / f"clip{suffix}", frames, fps=10.0)
    with VideoFileSource(path) as source:
        assert (source.width, source.height, source.fps, source.frame_count) == (64, 48, 10.0, 5)
        assert not source.is_live
        got = []
        while True:
            ok, frame, t = source.read()
            if not ok:
                break
            got.append((frame, t))
        assert "end of video file" in source.end_reason
    assert [t for _, t in got] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    first, last = got[0][0], got[-1][0]
    assert first.dtype == np.uint8 and first.shape == (48, 64, 3)
    assert first[..., 0].mean() > 150 and first[..., 2].mean() < 80  # red stays red (RGB order)
    assert last[..., 2].mean() > 150


def test_missing_or_broken_video_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        VideoFileSource(tmp_path / "none.avi").open()
    broken = tmp_path / "broken.avi"
    broken.write_text("not a video")
    with pytest.raises(SourceError, match="cannot be decoded"):
        VideoFileSource(broken).open()


def test_image_folder_is_sorted_and_skips_broken_files(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "b.png"), _solid((0, 0, 255)))  # BGR on disk: red
    cv2.imwrite(str(tmp_path / "a.jpg"), _solid((0, 255, 0), size=(30, 20)))
    (tmp_path / "c.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageSource(tmp_path)
    source.open()
    assert [p.name for p in source.paths] == ["a.jpg", "b.png", "c.jpg"]
    ok, frame, _ = source.read()
    assert ok and frame.shape == (20, 30, 3) and source.current_path.name == "a.jpg"
    ok, frame, t = source.read()
    assert ok and frame[0, 0].tolist() == [255, 0, 0] and t == 1.0
    ok, _, _ = source.read()
    assert not ok and [p.name for p, _ in source.skipped] == ["c.jpg"]
    assert "1 skipped" in source.end_reason


def test_empty_or_missing_image_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="holds no image"):
        ImageSource(tmp_path).open()
    with pytest.raises(SourceError, match="does not exist"):
        ImageSource(tmp_path / "gone").open()


def test_camera_that_cannot_be_opened_names_the_camera():
    source = CameraSource(97, width=640, height=480, fps=30)
    with pytest.raises(SourceError, match="Could not open camera 97"):
        source.open()
    ok, frame, _ = source.read()
    assert not ok and frame is None and "not open" in source.end_reason
    source.close()


def test_list_cameras_reads_linux_sysfs_without_opening(tmp_path, monkeypatch):
    for node, name, index in (("video0", "Integrated Webcam", "0"), ("video1", "Integrated Webcam", "1"),
                              ("video2", "USB Camera", "0")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    monkeypatch.setattr(sources, "V4L_SYSFS", tmp_path)
    monkeypatch.setattr(sources.sys, "platform", "linux")
    assert list_cameras(probe=False) == [
        CameraInfo(0, "Integrated Webcam", None), CameraInfo(2, "USB Camera", None)
    ]
    released = []

    class FakeCapture:  # stands in for cv2.VideoCapture: only index 2 opens
        def __init__(self, index):
            self.index = index

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return self.index == 2

        def release(self):
            released.append(self.index)

    monkeypatch.setattr(sources.cv2, "VideoCapture", FakeCapture)
    assert [c.available for c in list_cameras(probe=True)] == [False, True]
    assert released == [0, 2]  # every probed camera is released at once
    assert sources.camera_name(2) == "USB Camera" and sources.camera_name(5) == "Camera 5"


def test_a_linux_machine_without_video4linux_lists_no_camera_and_probes_none(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "V4L_SYSFS", tmp_path / "absent")
    monkeypatch.setattr(sources.sys, "platform", "linux")

    def refuse(index):
        raise AssertionError(f"camera {index} was opened")

    monkeypatch.setattr(sources.cv2, "VideoCapture", refuse)
    assert list_cameras(probe=True) == [] and list_cameras(probe=False) == []


def test_demo_source_delivers_faces_in_real_time():
    source = DemoSource(width=320, height=240, fps=50.0, faces=2)
    source.open()
    frames = [source.read() for _ in range(3)]
    assert all(ok for ok, _, _ in frames) and source.is_live
    assert [t for _, _, t in frames] == pytest.approx([0.0, 0.02, 0.04])
    assert frames[0][1].shape == (240, 320, 3) and frames[0][1].dtype == np.uint8
    with FaceDetector() as detector:
        assert len(detector.detect(frames[-1][1])) == 2
    source.close()
    with pytest.raises(SourceError, match="not open"):
        source.render(0.0)


def test_a_looping_video_starts_again_with_timestamps_that_keep_rising(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for i in range(3):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    source = sources.VideoFileSource(path, loop=True)
    source.open()
    reads = [source.read() for _ in range(7)]
    source.close()
    assert all(ok for ok, _, _ in reads) and source.loops == 2
    times = [t for _, _, t in reads]
    assert times == pytest.approx([i / 10.0 for i in range(7)])
    assert abs(int(reads[3][1].mean()) - int(reads[0][1].mean())) <= 2  # frame 0 again


def test_without_a_probe_nothing_is_opened_on_any_platform(monkeypatch):
    """The GUI thread asks with probe=False: it must never open a camera (that can take seconds)."""
    monkeypatch.setattr(sources.sys, "platform", "win32")

    def refuse(index):
        raise AssertionError(f"camera {index} was opened")

    monkeypatch.setattr(sources.cv2, "VideoCapture", refuse)
    assert list_cameras(probe=False) == []
