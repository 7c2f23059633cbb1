"""dreamgraph's nodes: chat, scheduling, the dream optimizer, interpolation and video output."""
