"""Open311 GeoReport v2 (JSON) over hazard reports; see ``services`` for what is public."""
