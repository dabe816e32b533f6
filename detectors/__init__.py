"""Streaming detectors, the alert engine and its store. Never imports textual or console."""

from detectors import feed_health, spread  # noqa: F401  (registers the detector kinds)
from detectors.base import DETECTORS

__all__ = ["DETECTORS"]
