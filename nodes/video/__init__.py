"""Video libraries: keyframe interpolation, captions, ffmpeg output, browser preview."""
