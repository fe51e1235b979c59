"""hazard_reporter: 隐患随手拍 — workplace hazard reports from a phone photo to the unit that fixes it."""

from hazard_reporter.app import create_app

__all__ = ["create_app"]
