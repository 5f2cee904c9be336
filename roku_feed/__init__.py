"""roku_feed: build, validate and serve Roku Direct Publisher JSON feeds."""

__version__ = "0.1.0"
