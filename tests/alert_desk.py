"""The small market of conftest with only the two detectors the alert-store tests reason about.

Other detector kinds come and go with the detectors' own work; switching them off keeps these tests about
the store: over 240 s the market raises one spread_wide alert (90 s, clears by itself) and one stale_feed
alert (150 s, warning then critical, clears at 190 s).
"""

from conftest import SMALL_CONFIG
from detectors import DETECTORS

KEPT = ("spread_wide", "stale_feed")
_OFF = "".join(f"    {kind}: {{enabled: false}}\n" for kind in sorted(DETECTORS) if kind not in KEPT)
DESK_CONFIG = SMALL_CONFIG.replace("detectors:\n", "detectors:\n  defaults:\n" + _OFF, 1) + "operator: ana\n"
