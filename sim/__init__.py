"""bleedsim: Monte-Carlo attack outcomes for Heartbleed-class memory-disclosure bugs."""

__version__ = "0.1.0"
