"""Duban (督办): supervision and follow-up for county governments."""

__version__ = "0.1.0"
