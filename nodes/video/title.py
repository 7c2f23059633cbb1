"""The title card shown before the first keyframe: the subject and "dreaming..." over the calm start picture."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from ..common.start_picture import start_picture
from .overlay import clip_to_width, printable

WAITING = "dreaming..."


class TitleCard:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._background = PilImage.fromarray(start_picture(width, height))
        self._subject_font = ImageFont.load_default(size=max(12, height // 10))
        self._waiting_font = ImageFont.load_default(size=max(10, height // 20))
        self.subject = None
        self.frame = np.empty((height, width, 3), np.uint8)
        self.set_subject("")

    def set_subject(self, subject: str):
        """Render the card for a subject ("" shows only "dreaming..."); once per change."""
        subject = printable(subject)
        if subject == self.subject:
            return
        self.subject = subject
        card = self._background.copy()
        draw = ImageDraw.Draw(card)
        centre_x, centre_y = self.width / 2, self.height / 2
        shadow = max(1, self.height // 200)
        if subject:
            lines = [
                (
                    clip_to_width(self._subject_font, subject, 0.9 * self.width),
                    self._subject_font,
                    centre_y - 0.04 * self.height,
                ),
                (WAITING, self._waiting_font, centre_y + 0.08 * self.height),
            ]
        else:
            lines = [(WAITING, self._waiting_font, centre_y)]
        for text, font, y in lines:
            draw.text((centre_x + shadow, y + shadow), text, font=font, fill=(20, 20, 40), anchor="mm")
            draw.text((centre_x, y), text, font=font, fill=(250, 250, 250), anchor="mm")
        self.frame[...] = np.asarray(card)

    def draw(self, frame: np.ndarray, opacity: float = 1.0) -> np.ndarray:
        """The card over `frame` (HxWx3 uint8, the card's size) at `opacity`, in place."""
        if opacity >= 1.0:
            frame[...] = self.frame
        elif opacity > 0.0:
            cv2.addWeighted(self.frame, opacity, frame, 1.0 - opacity, 0.0, dst=frame)
        return frame
