"""A real RTMP ingest server for tests: Debian's nginx with libnginx-mod-rtmp in the foreground on 127.0.0.1.

    with RtmpServer(tmp_path) as server:
        url = server.url("live", "streamkey")      # rtmp://127.0.0.1:PORT/live/streamkey
        ...
        server.recordings()                         # FLV files of everything published

Every publish is recorded (`record all`, unique file names), so a test can decode what arrived. `kill()` drops
all connections at once like a crashed ingest; `start()` again brings it back on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RtmpServer:
    def __init__(self, folder: Path, port: int | None = None, application: str = "live"):
        if not (Path(NGINX).exists() and RTMP_MODULE.exists()):
            pytest.skip("nginx with the RTMP module is not installed")
        self.folder = Path(folder) / "nginx-rtmp"
        self.record_dir = self.folder / "recordings"
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self.host, self.port, self.application = "127.0.0.1", port or free_port(), application
        self.config = self.folder / "nginx.conf"
        self.config.write_text(self._config_text())
        self.process: subprocess.Popen | None = None

    def _config_text(self) -> str:
        folder = self.folder
        return f"""
load_module {RTMP_MODULE};
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen {self.host}:{self.port};
        application {self.application} {{
            live on;
            record all;
            record_path {self.record_dir};
            record_unique on;
        }}
    }}
}}
"""

    def url(self, key: str = "test") -> str:
        return f"rtmp://{self.host}:{self.port}/{self.application}/{key}"

    def start(self, timeout: float = 10.0) -> "RtmpServer":
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.folder), "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}; see {self.folder}/error.log")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"nginx did not listen on port {self.port}")

    def kill(self):
        """Drop dead, like a crashed ingest server: connections reset, no goodbye."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def recordings(self) -> list[Path]:
        return sorted(self.record_dir.glob("*.flv"), key=lambda path: path.stat().st_mtime)

    def __enter__(self) -> "RtmpServer":
        return self.start()

    def __exit__(self, *exc):
        self.stop()
