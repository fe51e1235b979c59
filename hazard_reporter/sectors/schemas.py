"""Sector answers."""

import marshmallow as ma


class SectorSchema(ma.Schema):
    key = ma.fields.String(metadata={"example": "gas_network"})
    name = ma.fields.String(metadata={"description": "Label in the request's language"})
    name_zh = ma.fields.String(metadata={"example": "城市燃气管网"})
    name_en = ma.fields.String(metadata={"example": "Urban gas network"})
