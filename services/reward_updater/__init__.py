"""The reward stream: clicks and conversions in, per-element reward scores out."""
