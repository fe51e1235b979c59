"""indexes for the photo sweeps: renditions still pending, recent photos of a kind

Revision ID: 0009_photo_sweeps
Revises: 0008_scale_indexes
Create Date: 2026-11-28 18:40:00.000000

Beat's sweep (and the in-process loop) look for photos whose renditions are still pending, and
each new photo's near-identical check reads the recent photos of its kind; at millions of photos
both need an index.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_photo_sweeps'
down_revision = '0008_scale_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index('ix_photos_derivatives_id', ['derivatives', 'id'], unique=False)
        batch_op.create_index('ix_photos_kind_created_at', ['kind', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_kind_created_at')
        batch_op.drop_index('ix_photos_derivatives_id')
