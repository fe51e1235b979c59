"""the direct upload a photo was claimed from, kept apart from its original

Revision ID: 0014_photo_upload_key
Revises: 0013_delivery_retry_from
Create Date: 2026-12-04 23:10:00.000000

A photo a phone uploaded straight to the bucket was kept at its upload key. That key's presigned
POST stays good for HAZARD_S3_PRESIGN_SECONDS, so whoever held it could replace the evidence
after the report had checked it, and the stored original no longer matched its sha256. The
checked bytes are now stored under a fresh ``originals/`` key, and the upload key is recorded
here, so that an upload is still claimed once. Photos claimed before keep their key in both.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_photo_upload_key"
down_revision = "0013_delivery_retry_from"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_photos_upload_key"), ["upload_key"])
    op.execute("UPDATE photos SET upload_key = original_key WHERE original_key LIKE 'uploads/%'")


def downgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_photos_upload_key"), type_="unique")
        batch_op.drop_column("upload_key")
