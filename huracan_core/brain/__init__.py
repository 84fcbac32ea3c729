"""The Brain Library: what the engine learned, night by night, in a database (see db.py, models.py, record.py)."""
