"""Media probes: check that a feed's videos, images and captions really work on a Roku."""
