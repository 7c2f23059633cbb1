"""What the application packages share: the message types, shared constants, the ImageNet labels and the
start picture."""
