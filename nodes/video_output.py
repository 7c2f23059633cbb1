"""The video output node: stream to Twitch/YouTube/any RTMP(S) or SRT server, record to files and feed a virtual
camera, all at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from ..graph.core.message import Image
from ..graph.core.node import Input, Node, Param
from ..graph.core.preflight import Check, disk_check
from ..graph.core.secrets import MaskingFilter, SecretMasker, read_secret
from .video.ffmpeg import (
    ENCODERS,
    PRESETS,
    V4L2_HELP,
    V4L2_PREFIX,
    EncoderSettings,
    camera_device,
    choose_encoder,
    default_bitrate,
    ffmpeg_features,
    nvenc_problem,
    nvenc_usable,
    parse_targets,
)
from .video.stream import LiveEncoder


def check_cameras(targets: str) -> None:
    """Virtual camera targets must exist: ValueError naming the v4l2loopback module otherwise."""
    for item in (part.strip() for part in targets.split(",")):
        if item.startswith(V4L2_PREFIX):
            camera_device(item)


class VideoOutput(Node):
    """Encodes the video with ffmpeg (H.264 + AAC, on the CPU with x264 or on an NVIDIA GPU with NVENC) and sends
    it to RTMP(S) ingest servers, SRT (OBS, vMix, hardware decoders on a LAN), files and virtual cameras.

    Frames are written on a real-time schedule at `fps`; when frames are late the last one is repeated, so the
    stream never stalls. Several targets share one encode (ffmpeg's tee muxer). If ffmpeg exits or the server
    drops, ffmpeg is restarted with exponential backoff (files written after a restart get -r1, -r2, ...).
    The stream key comes from an environment variable or a file and is masked (****) in every log line.
    Targets: `twitch`, `youtube`, or URL templates such as rtmp://host/app/{key} or rtmps://host/app/{env:VAR},
    srt://host:port?mode=caller (or mode=listener, for a receiver that connects to us), v4l2:///dev/videoN (a
    v4l2loopback device that OBS and browsers see as a webcam), and file paths ending .mp4 .mkv .flv .ts .mov
    (strftime codes such as %Y%m%d-%H%M%S allowed; the folder is created), separated by commas.
    """

    video = Input(Image, "video", delivery="latest", doc="frames to send (resized to the output size if needed)")

    targets = Param(
        str,
        "dreamgraph.mkv",
        doc=f"comma-separated targets: {', '.join(PRESETS)}, RTMP(S) URL templates with {{key}} or {{env:NAME}}, "
        "srt:// URLs, v4l2:///dev/videoN virtual cameras, file paths",
        check=check_cameras,
    )
    key_env = Param(str, "", doc="environment variable holding the stream key for {key}")
    key_file = Param(str, "", doc="file holding the stream key for {key} (used when key_env is unset)")
    fps = Param(float, 30.0, unit="Hz", min=1, max=120, doc="output frame rate")
    width = Param(int, 0, unit="px", min=0, max=7680, doc="output width (0: the first frame's)")
    height = Param(int, 0, unit="px", min=0, max=4320, doc="output height (0: the first frame's)")
    bitrate = Param(str, "", doc="video bitrate, e.g. 4500k (empty: the presets' highest, else 4500k)")
    encoder = Param(
        str,
        "auto",
        choices=["auto", *ENCODERS],
        doc="H.264 encoder: auto takes NVENC where an NVIDIA GPU can run it, else libx264 (said in the log)",
    )
    srt_latency_ms = Param(
        float, 120.0, unit="ms", min=20, max=8000, doc="SRT latency, where an srt:// URL does not give one"
    )
    x264_preset = Param(
        str,
        "veryfast",
        choices=["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"],
        doc="x264 speed/quality trade-off",
    )
    audio = Param(str, "", doc="audio file (looped) or URL mixed into the soundtrack (empty: silence)")
    segment_s = Param(
        float, 0.0, unit="s", min=0, max=86400, doc="cut file targets into pieces of this length (0: one file)"
    )

    @classmethod
    def preflight(cls, params: dict) -> list[Check]:
        try:
            exe, encoders, protocols = ffmpeg_features()
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as err:
            return [Check("ffmpeg", False, str(err), "pip install --force-reinstall imageio-ffmpeg")]
        names = [item.strip() for item in params["targets"].split(",") if item.strip()]
        streams = [PRESETS[n]["url"] if n in PRESETS else n for n in names if n in PRESETS or "://" in n]
        checks = [
            Check("ffmpeg", True, exe),
            Check("x264", "libx264" in encoders, "H.264 encoder libx264", "use imageio-ffmpeg's bundled ffmpeg"),
            Check("aac", "aac" in encoders, "AAC audio encoder", "use imageio-ffmpeg's bundled ffmpeg"),
            Check(
                "nvenc",
                nvenc_usable(),
                "NVENC encodes here" if nvenc_usable() else f"NVENC cannot encode here: {nvenc_problem()}",
                "hardware encoding needs an NVIDIA GPU with a video encoder (GeForce, RTX, L4, L40) and its driver;"
                " libx264 encodes on the CPU",
                needed=params["encoder"] == "h264_nvenc",
            ),
            Check("srt", "srt" in protocols, "SRT protocol", needed=False),
        ]
        for name in (n for n in names if n.startswith(V4L2_PREFIX)):
            try:
                checks.append(Check("camera", True, f"{camera_device(name)} is there"))
            except ValueError as err:
                checks.append(Check("camera", False, str(err), V4L2_HELP))
        for scheme in sorted({url.split("://", 1)[0] for url in streams if not url.startswith(V4L2_PREFIX)}):
            checks.append(Check(scheme, scheme in protocols, f"{scheme}:// output", "use a build of ffmpeg with it"))
        folders = {Path(time.strftime(n)).resolve().parent for n in names if n not in PRESETS and "://" not in n}
        for folder in sorted(folders):
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            checks.append(disk_check(existing))
        return checks

    def setup(self):
        self._masker = SecretMasker()
        self.log.addFilter(MaskingFilter(self._masker))
        self._encoder: LiveEncoder | None = None
        self._restarts_seen = 0
        self.every(1.0, self._watch)
        if self.width and self.height:
            self._start(self.width, self.height)

    def _start(self, width: int, height: int):
        key = read_secret(self.key_env, self.key_file, what="stream key")
        if key:
            self._masker.add(key)
        targets = parse_targets(
            self.targets, lambda template: self._masker.expand(template, key), self.segment_s, self.srt_latency_ms
        )
        encoder, why = choose_encoder(self.encoder)
        self.log.info("encoder: %s", why)
        settings = EncoderSettings(
            width,
            height,
            self.fps,
            self.bitrate or default_bitrate(self.targets),
            self.x264_preset,
            encoder=encoder,
            audio=self.audio,
        )
        self._encoder = LiveEncoder(settings, targets, self.log, self._masker)
        self._encoder.start()
        for target in targets:
            self.log.info(
                "%s: %s (%dx%d, %g fps)",
                "streaming to" if target.is_stream else "camera" if target.is_camera else "recording to",
                self._masker(target.location),
                width,
                height,
                self.fps,
            )
        self._restarts_seen = 0

    def _stop(self):
        if self._encoder is not None:
            self._encoder.stop()
            self._encoder = None

    def on_video(self, msg: Image):
        if self._encoder is None:
            h, w = msg.image.shape[:2]
            self._start(self.width or w, self.height or h)
        self._encoder.submit(msg.image)

    def on_param(self, name, value):
        # Every parameter shapes the ffmpeg command: restart it (at the first frame's size if none is set).
        size = (self._encoder.settings.width, self._encoder.settings.height) if self._encoder else None
        self._stop()
        if self.width and self.height:
            self._start(self.width, self.height)
        elif size:
            self._start(*size)

    def _watch(self):
        self.problem = self._encoder.problem if self._encoder else ""
        if self._encoder and self._encoder.restarts > self._restarts_seen:
            for _ in range(self._encoder.restarts - self._restarts_seen):
                self.count_error("ffmpeg_restart", "ffmpeg exited and was restarted")
            self._restarts_seen = self._encoder.restarts

    def teardown(self):
        self._stop()
