"""how many times a photo's renditions were started

Revision ID: 0012_photo_render_attempts
Revises: 0011_photo_sha256_kind
Create Date: 2026-12-04 17:30:00.000000

A photo whose decoding kills the worker (the kernel's OOM killer, a codec crash) never records a
failure: Celery hands its task to the next worker, and the sweep queues it again, forever. The
count is kept before each decoding starts, and a photo that has taken down its worker three times
is marked failed instead of being tried a fourth.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_photo_render_attempts'
down_revision = '0011_photo_sha256_kind'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('derivatives_attempts', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_column('derivatives_attempts')
