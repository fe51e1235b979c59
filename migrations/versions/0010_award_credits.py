"""stored award credits: the reporter credited for each verified hazard and its points

Revision ID: 0010_award_credits
Revises: 0009_photo_sweeps
Create Date: 2026-11-29 10:00:00.000000

A year's award list summed the rules over every verified hazard and the reports merged into it
(some 100 000 of each at a million reports a year). Each hazard now keeps the credit the rules
give it (hazard_reporter.awards.credits keeps it current on every change), so the list is a GROUP
BY over a partial index of credited hazards. The backfill below is the rule as it stands here:
the first report of the cluster (by submission time, then id), unless its anti-fraud flags are
not cleared; points by colour, +20 for a confirmed major hazard, +100 for a prevented accident.

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction (see 0008).
"""
import contextlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_award_credits'
down_revision = '0009_photo_sweeps'
branch_labels = None
depends_on = None

CREDITED_ONLY = sa.text('credit_reporter_id IS NOT NULL')
INDEXES = [
    (
        'ix_reports_credits',
        ['submitted_at', 'credit_reporter_id', 'credit_points', 'region_code', 'sector'],
    ),
    ('ix_reports_credits_reporter', ['credit_reporter_id', 'submitted_at']),
]
BACKFILL = """
UPDATE reports SET
    credit_points =
        CASE severity WHEN 'red' THEN 50 WHEN 'orange' THEN 30 WHEN 'yellow' THEN 15
            WHEN 'blue' THEN 5 END
        + CASE WHEN hazard_confirmed = 'major' THEN 20 ELSE 0 END
        + CASE WHEN accident_prevented THEN 100 ELSE 0 END,
    credit_reporter_id = (
        SELECT CASE
            WHEN earliest.flags_cleared_at IS NULL
                AND coalesce(json_array_length(earliest.flags), 0) > 0 THEN NULL
            ELSE earliest.reporter_id END
        FROM reports AS earliest
        WHERE earliest.id = reports.id OR earliest.duplicate_of_id = reports.id
        ORDER BY earliest.submitted_at, earliest.id
        LIMIT 1
    )
WHERE status = 'verified' AND duplicate_of_id IS NULL
"""


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def _outside_transaction():
    """PostgreSQL builds indexes CONCURRENTLY only outside a transaction."""
    return op.get_context().autocommit_block() if _postgresql() else contextlib.nullcontext()


def upgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_reporter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credit_points', sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    with _outside_transaction():
        for name, columns in INDEXES:
            op.create_index(
                name,
                'reports',
                columns,
                unique=False,
                postgresql_concurrently=_postgresql(),
                sqlite_where=CREDITED_ONLY,
                postgresql_where=CREDITED_ONLY,
            )


def downgrade():
    with _outside_transaction():
        for name, _ in reversed(INDEXES):
            op.drop_index(name, table_name='reports', postgresql_concurrently=_postgresql())
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('credit_points')
        batch_op.drop_column('credit_reporter_id')
