"""ivy-setup: a terminal wizard that makes the ivy package's API key work, and keeps it working."""

__version__ = "0.1.0"
