"""Sign-in and user administration at the HTTP boundary."""

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.accounts.models import Role
from hazard_reporter.regions.models import REGION_CODE_PATTERN
from hazard_reporter.sectors.models import Sector

ROLES = [r.value for r in Role]
SECTORS = [s.value for s in Sector]


class LoginSchema(ma.Schema):
    phone = ma.fields.String(required=True, validate=validate.Length(max=30))
    password = ma.fields.String(required=True, validate=validate.Length(max=200), load_only=True)


class SignupSchema(LoginSchema):
    name = ma.fields.String(validate=validate.Length(max=100))


class RefreshSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=validate.Length(max=200))


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=validate.Length(max=200))
    new_password = ma.fields.String(required=True, validate=validate.Length(max=200))


class ProfileSchema(ma.Schema):
    name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    consent_named = ma.fields.Boolean(
        metadata={"description": "Let the award committee show my name in lists and certificates"}
    )


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    phone = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    consent_named = ma.fields.Boolean()
    role = ma.fields.String()
    active = ma.fields.Boolean()
    regions = ma.fields.List(ma.fields.String(), attribute="region_codes")
    sectors = ma.fields.List(ma.fields.String())
    unit_id = ma.fields.Integer(allow_none=True, validate=validate.Range(1, 2**31 - 1))
    created_at = ma.fields.DateTime()


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds the access token lives"})
    user = ma.fields.Nested(UserSchema)


class WebSessionSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    csrf_token = ma.fields.String(
        metadata={"description": "Send as X-CSRF-Token (or form field csrf_token) on writes"}
    )


class UserCreateSchema(ma.Schema):
    phone = ma.fields.String(required=True)
    password = ma.fields.String(required=True, load_only=True)
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    name = ma.fields.String(validate=validate.Length(max=100))
    regions = ma.fields.List(ma.fields.String(validate=validate.Regexp(REGION_CODE_PATTERN)))
    sectors = ma.fields.List(ma.fields.String(validate=validate.OneOf(SECTORS)))
    unit_id = ma.fields.Integer(allow_none=True, validate=validate.Range(1, 2**31 - 1))


class UserUpdateSchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    name = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    active = ma.fields.Boolean()
    regions = ma.fields.List(ma.fields.String(validate=validate.Regexp(REGION_CODE_PATTERN)))
    sectors = ma.fields.List(ma.fields.String(validate=validate.OneOf(SECTORS)))
    unit_id = ma.fields.Integer(allow_none=True, validate=validate.Range(1, 2**31 - 1))


class UserListQuerySchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(1, 200))
    after = ma.fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "Continue after this user id"},
    )
