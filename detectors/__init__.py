"""Streaming detectors, the alert engine and its store. Never imports textual or console."""

# importing the modules registers the detector kinds; their order is the radar's column order
from detectors import quality, feed_health, price, venues, spoofing, trading_abuse, bars, price_limit  # noqa: F401
from detectors.base import DETECTORS

__all__ = ["DETECTORS"]
