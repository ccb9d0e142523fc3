"""Where trials run: connecting to or starting Ray."""
