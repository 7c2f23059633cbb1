"""The ffmpeg command line for live H.264/AAC output to files, RTMP(S) ingest servers and SRT, and raw video to
a virtual camera, and its process.

Raw rgb24 frames go in on stdin. One encode (x264 on the CPU or NVENC on an NVIDIA GPU) feeds every encoded
target: a single target uses its muxer directly, several go through the `tee` muxer. Virtual cameras
(v4l2loopback) take raw frames, as a second output of the same ffmpeg. Settings follow the Twitch/YouTube ingest
requirements (CBR, a keyframe every 2 s, AAC audio, silent if no audio source is given).
"""

from __future__ import annotations

import functools
import signal
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import imageio_ffmpeg

from ...graph.core.process import die_with_parent, keep_niceness_in_session

PRESETS = {
    # URL templates and bitrates that suit 720p-1080p at 30-60 fps within each service's recommendations.
    "twitch": {"url": "rtmp://live.twitch.tv/app/{key}", "bitrate": "4500k"},
    "youtube": {"url": "rtmp://a.rtmp.youtube.com/live2/{key}", "bitrate": "6000k"},
}
_FILE_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".flv": "flv", ".ts": "mpegts", ".mov": "mov"}
# Fragmented MP4 stays playable when ffmpeg is killed or restarted mid-file.
_MP4_FLAGS = "+frag_keyframe+empty_moov+default_base_moof"


ENCODERS = ("libx264", "h264_nvenc")
V4L2_PREFIX = "v4l2://"
V4L2_HELP = (
    "load the v4l2loopback kernel module (Debian: apt-get install v4l2loopback-dkms), e.g. "
    "`sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=dreamgraph exclusive_caps=1` for /dev/video10"
)


@dataclass
class Target:
    """One destination: an RTMP/RTMPS or SRT URL (already expanded), a file path (optionally cut into segments),
    or a virtual camera's device (/dev/videoN)."""

    location: str
    segment_seconds: float = 0.0
    options: dict[str, str] = field(default_factory=dict)  # extra muxer or protocol options

    @property
    def is_stream(self) -> bool:
        return self.location.startswith(("rtmp://", "rtmps://", "srt://"))

    @property
    def is_camera(self) -> bool:
        return self.location.startswith("/dev/video")

    @property
    def is_file(self) -> bool:
        return not (self.is_stream or self.is_camera)

    def muxer(self, restart: int) -> tuple[dict[str, str], str]:
        """Muxer options and output name; files written after a restart get -rN so nothing is overwritten."""
        if self.location.startswith("srt://"):
            return {"f": "mpegts", **self.options}, self.location
        if self.is_stream:
            return {"f": "flv", "flvflags": "no_duration_filesize", **self.options}, self.location
        path = Path(self.location)
        suffix = path.suffix.lower()
        if suffix not in _FILE_FORMATS:
            raise ValueError(f"unknown file type {path.suffix!r} for {path}; use one of {', '.join(_FILE_FORMATS)}")
        stem = path.stem + (f"-r{restart}" if restart else "")
        options = {"movflags": _MP4_FLAGS} if suffix in (".mp4", ".mov") else {}
        if self.segment_seconds > 0:
            options = {
                "f": "segment",
                "segment_time": f"{self.segment_seconds:g}",
                "reset_timestamps": "1",
                "segment_format": _FILE_FORMATS[suffix],
                **({"segment_format_options": f"movflags={_MP4_FLAGS}"} if options else {}),
            }
            return options, str(path.with_name(f"{stem}-%05d{path.suffix}"))
        return {"f": _FILE_FORMATS[suffix], **options}, str(path.with_name(stem + path.suffix))


def parse_targets(spec: str, expand, segment_seconds: float = 0.0, srt_latency_ms: float = 120.0) -> list[Target]:
    """Targets from a comma-separated list of preset names (twitch, youtube), RTMP URL templates, SRT URLs,
    virtual cameras (v4l2:///dev/videoN) and file paths.

    `expand(template)` fills in the stream key ({key}, {env:NAME}) and registers it for masking.
    Segmenting applies to file targets only.
    """
    targets = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        template = PRESETS[item]["url"] if item in PRESETS else item
        if template.startswith(("rtmp://", "rtmps://")):
            targets.append(Target(expand(template)))
        elif template.startswith("srt://"):
            targets.append(Target(_srt_url(template, srt_latency_ms)))
        elif template.startswith(V4L2_PREFIX):
            targets.append(Target(camera_device(template)))
        else:
            # File names may carry the start time (strftime codes); their folder is created.
            path = Path(time.strftime(template))
            path.parent.mkdir(parents=True, exist_ok=True)
            targets.append(Target(str(path), segment_seconds))
    if not targets:
        raise ValueError("no output target given")
    return targets


def _srt_url(url: str, latency_ms: float) -> str:
    if "{" in url or "passphrase=" in url:
        # SRT encrypts end to end, so no local relay can add a secret, and ffmpeg's command line is public
        raise ValueError("an SRT target cannot hold a secret (passphrase or {key}); use SRT on a trusted LAN")
    if "latency=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}latency={round(latency_ms * 1000)}"  # ffmpeg's srt: microseconds


def camera_device(target: str) -> str:
    """/dev/videoN of a v4l2:///dev/videoN target; ValueError naming the module when the device is missing."""
    device = target[len(V4L2_PREFIX) :]
    if not device.startswith("/dev/video"):
        raise ValueError(f"a virtual camera target looks like v4l2:///dev/video10, not {target!r}")
    if not Path(device).exists():
        raise ValueError(f"{device} does not exist: {V4L2_HELP}")
    return device


def relayed(target: Target, local_url: str, tcurl: str) -> Target:
    """A stream target sent through a local relay: ffmpeg connects to `local_url` and tells the server `tcurl`."""
    return replace(target, location=local_url, options={**target.options, "rtmp_tcurl": tcurl})


def default_bitrate(spec: str) -> str:
    """The highest bitrate among the presets named in a target list, or a general default."""
    rates = [PRESETS[item.strip()]["bitrate"] for item in spec.split(",") if item.strip() in PRESETS]
    return max(rates, key=_bits) if rates else "4500k"


@dataclass
class EncoderSettings:
    width: int
    height: int
    fps: float
    bitrate: str = "4500k"
    preset: str = "veryfast"  # x264's speed preset
    encoder: str = "libx264"  # or h264_nvenc
    audio: str = ""  # file or URL mixed over the silent track; "" for silence only
    audio_bitrate: str = "160k"
    keyframe_seconds: float = 2.0


def _bits(rate: str) -> int:
    units = {"k": 1000, "m": 1000_000}
    rate = rate.strip().lower()
    return int(float(rate[:-1]) * units[rate[-1]]) if rate[-1] in units else int(rate)


def build_command(settings: EncoderSettings, targets: list[Target], restart: int = 0) -> list[str]:
    if not targets:
        raise ValueError("no output target")
    s = settings
    gop = str(max(1, round(s.keyframe_seconds * s.fps)))
    bitrate = _bits(s.bitrate)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{s.width}x{s.height}",
        "-framerate",
        f"{s.fps:g}",
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-i",
        "anullsrc=channel_layout=stereo:sample_rate=44100",
    ]
    if s.audio:
        # A local file loops forever; either way the silent track keeps audio flowing if the source ends or stalls.
        loop = [] if "://" in s.audio else ["-stream_loop", "-1"]
        command += [
            *loop,
            "-i",
            s.audio,
            "-filter_complex",
            "[1:a][2:a]amix=inputs=2:duration=first:normalize=0[audio]",
            "-map",
            "0:v",
            "-map",
            "[audio]",
        ]
    else:
        command += ["-map", "0:v", "-map", "1:a"]
    encoded = [t for t in targets if not t.is_camera]
    if encoded:
        command += _video_codec(s, gop, bitrate) + ["-c:a", "aac", "-b:a", s.audio_bitrate, "-ar", "44100"]
        command += ["-shortest", *_outputs(encoded, restart)]
    for camera in (t for t in targets if t.is_camera):
        # a virtual camera takes raw frames: OBS and browsers read it as a webcam
        command += ["-map", "0:v", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "v4l2", camera.location]
    return command


def _video_codec(s: EncoderSettings, gop: str, bitrate: int) -> list[str]:
    """Constant bitrate with a keyframe every keyframe_seconds, as the ingest servers ask, on either encoder."""
    rate = ["-b:v", str(bitrate), "-maxrate", str(bitrate), "-bufsize", str(2 * bitrate), "-g", gop]
    if s.encoder == "h264_nvenc":
        return ["-c:v", "h264_nvenc", "-pix_fmt", "yuv420p", "-preset", "p4", "-tune", "ll", "-rc", "cbr", *rate,
                "-forced-idr", "1", "-no-scenecut", "1"]  # fmt: skip
    return ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", s.preset, "-tune", "zerolatency", *rate,
            "-keyint_min", gop, "-sc_threshold", "0"]  # fmt: skip


def _outputs(targets: list[Target], restart: int) -> list[str]:
    """The encoded output: one target's muxer, or the tee muxer over several."""
    outputs = [target.muxer(restart) for target in targets]
    if len(outputs) == 1:
        options, name = outputs[0]
        return [arg for key, value in options.items() for arg in (f"-{key}", value)] + [name]
    slaves = []
    for options, name in outputs:
        if any(c in name for c in "|[]"):
            raise ValueError("with several targets, a target may not contain | [ or ]")
        # A failing output (a stream whose server is gone, a full disk) must not stop the others.
        options = {**options, "onfail": "ignore"}
        slaves.append("[" + _escape(":".join(f"{k}={_escape(v, ':=')}" for k, v in options.items()), "]") + "]" + name)
    # The tee muxer cannot hand codec headers to FLV/MP4 afterwards, so the encoders must emit global headers.
    return ["-flags:v", "+global_header", "-flags:a", "+global_header", "-f", "tee", "|".join(slaves)]


def _escape(text: str, specials: str) -> str:
    # The tee muxer unescapes twice: the bracket's contents, then each option value (backslash escapes).
    return "".join("\\" + c if c in specials + "\\'" else c for c in text)


def _child_setup():
    # Runs in the child between fork and exec: the kernel kills ffmpeg if the thread that started it goes away,
    # and its own session keeps the node's priority.
    die_with_parent(signal.SIGKILL)
    keep_niceness_in_session()


def spawn(command: list[str]) -> subprocess.Popen:
    # Its own session keeps a Ctrl-C or group signal aimed at the node away from ffmpeg: the node closes it
    # cleanly (stdin EOF finishes the files); the death signal covers the node dying without cleaning up.
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_child_setup,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, timeout: float = 5.0) -> int:
    """Close stdin so ffmpeg finishes its files, wait, then kill if it does not exit."""
    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def ffmpeg_features() -> tuple[str, set[str], set[str]]:
    """The bundled ffmpeg's path, encoders and protocols (output side), for `dreamgraph doctor`. RuntimeError
    when it cannot run."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    listings = []
    for what in ("-encoders", "-protocols"):
        done = subprocess.run([exe, "-hide_banner", what], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{exe} {what} failed: {done.stderr.strip()[-200:]}")
        listings.append(done.stdout)
    # encoder lines look like " V....D libx264   description"; protocols are listed under "Input:" then "Output:"
    encoders = {line.split()[1] for line in listings[0].splitlines() if len(line.split()) > 1 and "=" not in line}
    outputs = listings[1].split("Output:", 1)[-1]
    return exe, encoders, {line.strip() for line in outputs.splitlines() if line.strip()}


@functools.cache
def nvenc_problem() -> str | None:
    """Why NVENC cannot encode here, or None when it can: the bundled ffmpeg must be built with it, and an NVIDIA
    GPU with a video encoder and its driver must be there to run it."""
    probe = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"]
    probe += ["color=s=256x144:d=0.1", "-frames:v", "1", "-c:v", "h264_nvenc", "-f", "null", "-"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"the NVENC probe did not run ({type(err).__name__})"
    if done.returncode == 0:
        return None
    if "Function not implemented" in done.stderr or "unsupported device" in done.stderr:
        # ffmpeg opened the driver, but the GPU has no encoder unit
        return "this NVIDIA GPU has no video encoder (data-centre cards such as the A100, H100 and H200 have none)"
    if "Unknown encoder" in done.stderr:
        return "this ffmpeg was built without NVENC"
    return "no NVIDIA GPU with its driver's encode library (libnvidia-encode) here"


def nvenc_usable() -> bool:
    return nvenc_problem() is None


def choose_encoder(choice: str) -> tuple[str, str]:
    """(encoder, why) for `auto`, `libx264` or `h264_nvenc`; ValueError when NVENC is asked for and unusable."""
    if choice == "auto":
        if nvenc_usable():
            return "h264_nvenc", "auto: NVENC on the NVIDIA GPU"
        return "libx264", f"auto: libx264 on the CPU (no NVENC: {nvenc_problem()})"
    if choice == "h264_nvenc" and not nvenc_usable():
        raise ValueError(f"encoder h264_nvenc asked for, but NVENC cannot run here: {nvenc_problem()}")
    return choice, choice
