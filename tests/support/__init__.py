"""What the tests share: the stacks they start, reading topics to their end, launching
workers as processes, and building requests."""
