"""the exact-duplicate look-up by sha256 and kind

Revision ID: 0011_photo_sha256_kind
Revises: 0010_award_credits
Create Date: 2026-12-03 15:20:00.000000

Intake asks, for every report, whether a report's photo already has these bytes. With the index
on sha256 alone, SQLite answered through ``ix_photos_kind_created_at`` (kind = 'report' is an
equality too) and read every report photo when none matched: the look-up grew with the table.
On (sha256, kind) both conditions are in one index, which also serves the look-up by sha256 alone.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_photo_sha256_kind'
down_revision = '0010_award_credits'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_sha256')
        batch_op.create_index('ix_photos_sha256_kind', ['sha256', 'kind'], unique=False)


def downgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_sha256_kind')
        batch_op.create_index('ix_photos_sha256', ['sha256'], unique=False)
