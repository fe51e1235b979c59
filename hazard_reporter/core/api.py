"""The flask-smorest ``Api``, documented with this project's single error shape."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = ma.fields.String(
        required=True, metadata={"description": "Message for people (Chinese by default)"}
    )
    field = ma.fields.String(
        allow_none=True, metadata={"description": "The request field at fault, if any"}
    )
    details = ma.fields.Dict(metadata={"description": "Per-field validation details"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


class HazardApi(Api):
    """Api whose errors are rendered by ``hazard_reporter.core.http_errors`` rather than smorest.

    smorest's own handler drops Werkzeug's headers (``Allow`` on 405, ``Retry-After``) and uses
    another payload shape, so it is not registered.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # Registered by hazard_reporter.core.http_errors.register_error_handlers instead.
        pass


class MultipartParser(FlaskParser):
    """webargs parser with a ``multipart`` location: form fields and files in one schema, so a
    report's text and photos are validated together and documented as one request body."""

    # Extra fields from newer phone clients are ignored rather than refused.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "multipart": ma.EXCLUDE,
    }

    def load_multipart(self, req, schema):
        merged = MultiDict(req.form)
        for name, storage in req.files.items(multi=True):
            merged.add(name, storage)
        return self._makeproxy(merged, schema)


MultipartParser.__location_map__ = {
    **FlaskParser.__location_map__,
    "multipart": "load_multipart",
}


class HazardBlueprint(Blueprint):
    """Blueprint that understands ``location="multipart"`` (form fields plus files)."""

    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }
