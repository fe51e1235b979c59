"""when a dead delivery was put back in the queue

Revision ID: 0013_delivery_retry_from
Revises: 0012_photo_render_attempts
Create Date: 2026-12-04 20:45:00.000000

A delivery is given up after its attempts and HAZARD_DELIVERY_RETRY_HOURS since it was made. One
an operator retried was measured from when it was made, so it died again within hours (12
attempts) instead of being tried for the retry window again. The window now runs from the retry.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_delivery_retry_from'
down_revision = '0012_photo_render_attempts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_from', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('retry_from')
