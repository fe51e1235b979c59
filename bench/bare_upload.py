"""The floor for bench/intake.py: a bare Flask endpoint that only streams an upload to disk.

``gunicorn bench.bare_upload:app`` with ``BARE_UPLOAD_DIR`` set. It parses the same multipart body
as the project (Werkzeug's parser, spooling to a temporary file), writes the photo to its own file
and fsyncs it, and answers 201: no checks, no database.
"""

import os
import uuid
from pathlib import Path

from flask import Flask, request

app = Flask(__name__)
DIRECTORY = Path(os.environ.get("BARE_UPLOAD_DIR", "bare-uploads"))
DIRECTORY.mkdir(parents=True, exist_ok=True)


@app.post("/upload")
def upload():
    photo = request.files["photos"]
    with open(DIRECTORY / f"{uuid.uuid4().hex}.jpg", "wb") as target:
        photo.save(target)
        target.flush()
        os.fsync(target.fileno())
    return {"stored": True}, 201
