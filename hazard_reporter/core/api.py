"""The flask-smorest ``Api``, documented with this project's single error shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask_smorest import Api, Blueprint
from flask_smorest.fields import Upload
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import FileStorage, MultiDict


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


class FileUpload(Upload):
    """A file part of a multipart/form-data body. A plain text value sent under the same name is
    refused with 422 naming the field (smorest's ``Upload`` lets it through to the view)."""

    default_error_messages = {"invalid": "Not a file: send it as a file part of the form."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


# The OpenAPI request body of the CSV imports (units, routing rules, regions).
CSV_BODY = {"content": {"text/csv": {"schema": {"type": "string"}}}}

NUL_MESSAGE = "不能含有 NUL 字符（U+0000） / Must not contain the NUL character (U+0000)."


def _holds_nul(value: Any) -> bool:
    """Whether a text, or any text inside a JSON list or object, contains U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False  # numbers, booleans, None, uploaded files


def field_with_nul(data: Any) -> str | None:
    """The name of the first request field whose text contains U+0000, if any."""
    source = getattr(data, "data", data)  # webargs' MultiDictProxy wraps the request's MultiDict
    if hasattr(source, "lists"):
        items = ((key, value) for key, values in source.lists() for value in values)
    elif isinstance(source, Mapping):
        items = source.items()
    elif isinstance(source, list):
        items = ((str(index), value) for index, value in enumerate(source))
    else:
        return None
    for key, value in items:
        if _holds_nul(key) or _holds_nul(value):
            return str(key)
    return None


class MultipartParser(FlaskParser):
    """webargs parser with a ``multipart`` location: form fields and files in one schema, so a
    report's text and photos are validated together and documented as one request body.

    Text holding U+0000 is refused with 422 naming the field, in every location: PostgreSQL's
    text columns cannot store it (SQLite can), and no field of this API has a use for it."""

    # Extra fields from newer phone clients are ignored rather than refused.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "multipart": ma.EXCLUDE,
    }

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        field = field_with_nul(data)
        if field is not None:
            raise ma.ValidationError({field: [NUL_MESSAGE]})
        return data

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

    def arguments(self, schema, **kwargs):
        # A schema class is made into an instance once here: webargs would make a new one for
        # every request (a tenth of a millisecond for a report's). Schemas keep no state of a
        # load in marshmallow 4, so one instance serves every request.
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)
