"""Chat: IRC and Twitch, turning chat text into ImageNet subjects (vocabulary), and the fair schedule of
requests."""
