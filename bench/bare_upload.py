"""The floor for bench/intake.py: bare Flask endpoints that only stream an upload to disk.

``gunicorn bench.bare_upload:app`` (or ``:copying_app``) with ``BARE_UPLOAD_DIR`` set. Both parse
the same multipart body as the project (Werkzeug's parser, reading the body in the project's
256 KiB pieces) in a process whose malloc is set up as the project's (``keep_freed_memory``), fsync
the photo's file and answer 201: no checks, no database.

- ``app``, the floor: the photo is streamed straight into its own file, as intake streams it into
  its storage folder. Nothing is written twice; on ext4 the file's fsync also makes its new name
  durable.
- ``copying_app``, for reference: what a Flask endpoint usually does. Werkzeug spools the photo
  to an anonymous temporary file and ``save()`` copies it to its own file.
"""

import os
import uuid
from pathlib import Path

from flask import Flask, Request, request

from hazard_reporter.core.formparser import UploadFormParser
from hazard_reporter.core.memory import keep_freed_memory

keep_freed_memory()  # as wsgi.py does for the project

DIRECTORY = Path(os.environ.get("BARE_UPLOAD_DIR", "bare-uploads"))
DIRECTORY.mkdir(parents=True, exist_ok=True)


def _new_file(total_content_length, content_type, filename, content_length=None):
    """Werkzeug's ``stream_factory``: each uploaded file goes straight into a file of its own."""
    return open(DIRECTORY / f"{uuid.uuid4().hex}.jpg", "wb+")


class StraightToFileParser(UploadFormParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stream_factory = _new_file


class StraightToFileRequest(Request):
    form_data_parser_class = StraightToFileParser


class CopyingRequest(Request):
    form_data_parser_class = UploadFormParser


app = Flask(__name__)
app.request_class = StraightToFileRequest


@app.post("/upload")
def upload():
    photo = request.files["photos"].stream
    photo.flush()
    os.fsync(photo.fileno())
    return {"stored": True}, 201


copying_app = Flask(__name__)
copying_app.request_class = CopyingRequest


@copying_app.post("/upload")
def copying_upload():
    photo = request.files["photos"]
    with open(DIRECTORY / f"{uuid.uuid4().hex}.jpg", "wb") as target:
        photo.save(target)
        target.flush()
        os.fsync(target.fileno())
    return {"stored": True}, 201
