"""The floor for bench/intake.py: a bare Flask endpoint that only streams an upload to disk.

``gunicorn bench.bare_upload:app`` with ``BARE_UPLOAD_DIR`` set. It parses the same multipart body
as the project (Werkzeug's parser, reading the body in the project's 256 KiB pieces, spooling to a
temporary file), writes the photo to its own file and fsyncs it, and answers 201: no checks, no
database.
"""

import os
import uuid
from pathlib import Path

from flask import Flask, Request, request

from hazard_reporter.core.formparser import UploadFormParser


class BareRequest(Request):
    form_data_parser_class = UploadFormParser


app = Flask(__name__)
app.request_class = BareRequest
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
