"""Caption drawn on video frames: text in a semi-transparent box, rendered once per text change, blended per frame.

The font is Pillow's bundled scalable default (Pillow >= 10.1), so nothing has to be installed on the host.
Per frame the cached patch costs one multiply and one add over the box area, into preallocated buffers.
"""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def printable(text: str) -> str:
    """One line without control, format (bidi override) or private-use characters: the last gate before the
    stream."""
    return " ".join("".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).split())


def clip_to_width(font: ImageFont.FreeTypeFont, line: str, limit: float) -> str:
    """The line, shortened with an ellipsis until it fits `limit` pixels."""
    while len(line) > 1 and font.getlength(line) > limit:
        line = line[:-2] + "…"
    return line


class TextOverlay:
    def __init__(
        self,
        width: int,
        height: int,
        corner: str = "bottom-left",
        font_px: int = 0,
        box_opacity: float = 0.55,
        max_lines: int = 3,
    ):
        if corner not in CORNERS:
            raise ValueError(f"corner must be one of {', '.join(CORNERS)}, not {corner!r}")
        self.width, self.height, self.corner = width, height, corner
        self.font_px = font_px or max(12, height // 24)
        self.box_opacity = box_opacity
        self.max_lines = max_lines
        self.margin = max(4, self.font_px // 2)
        self._font = ImageFont.load_default(size=self.font_px)
        self.text = ""
        self._premultiplied: np.ndarray | None = None  # colour * alpha, uint8
        self._transparency: np.ndarray | None = None  # 255 - alpha, uint8, 3 channels
        self._scratch: np.ndarray | None = None
        self._origin = (0, 0)

    def set_text(self, text: str):
        """Change the caption; an empty text removes it. Renders the patch once."""
        text = printable(text)
        if text == self.text:
            return
        self.text = text
        if not text:
            self._premultiplied = self._transparency = self._scratch = None
            return
        self._render(self._wrap(text))

    def _wrap(self, text: str) -> list[str]:
        limit = self.width - 4 * self.margin
        lines: list[str] = []
        for word in text.split(" "):
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self._font.getlength(candidate) <= limit:
                lines[-1] = candidate
            else:
                lines.append(word)
        if len(lines) > self.max_lines:
            lines = lines[: self.max_lines]
            lines[-1] += " …"
        return [clip_to_width(self._font, line, limit) for line in lines]

    def _render(self, lines: list[str]):
        pad = self.margin
        _, ink_top, _, ink_bottom = self._font.getbbox("Ag@")
        spacing = self.font_px // 4
        line_h = ink_bottom - ink_top + spacing
        text_w = max(int(self._font.getlength(line)) for line in lines)
        box_w = min(self.width, text_w + 2 * pad)
        box_h = min(self.height, line_h * len(lines) - spacing + 2 * pad)
        patch = PilImage.new("RGBA", (box_w, box_h), (0, 0, 0, int(round(255 * self.box_opacity))))
        draw = ImageDraw.Draw(patch)
        for i, line in enumerate(lines):
            draw.text((pad, pad - ink_top + i * line_h), line, font=self._font, fill=(255, 255, 255, 255))
        rgba = np.asarray(patch, dtype=np.uint16)
        alpha = rgba[..., 3:4]
        self._premultiplied = ((rgba[..., :3] * alpha + 127) // 255).astype(np.uint8)
        self._transparency = np.repeat(255 - alpha, 3, axis=2).astype(np.uint8)
        self._scratch = np.empty_like(self._premultiplied)
        left = self.corner.endswith("left")
        top = self.corner.startswith("top")
        x = self.margin if left else self.width - box_w - self.margin
        y = self.margin if top else self.height - box_h - self.margin
        self._origin = (max(0, x), max(0, y))

    def draw(self, frame: np.ndarray) -> np.ndarray:
        """Blend the caption into frame (HxWx3 uint8, the size given at construction) in place."""
        if self._premultiplied is None:
            return frame
        x, y = self._origin
        h, w = self._premultiplied.shape[:2]
        region = frame[y : y + h, x : x + w]
        cv2.multiply(region, self._transparency, dst=self._scratch, scale=1.0 / 255.0)
        cv2.add(self._scratch, self._premultiplied, dst=region)
        return frame
