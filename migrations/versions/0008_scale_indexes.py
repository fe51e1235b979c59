"""indexes for lists and the queue at millions of reports

Revision ID: 0008_scale_indexes
Revises: 0007_integrations
Create Date: 2026-11-28 18:20:00.000000

List pages read newest first under one filter, so each filter's index ends with the id (on
PostgreSQL an index on the filter alone cannot give the order; these replace the single-column
ones). The inspector queue's indexes are partial, over open reports only (those with an
urgency), in queue order after each common filter, with one covering its counts per colour. Award
lists read a period's verified reports through (status, submitted_at), and the reports merged into
each through a partial index over merged reports only (which also replaces the one on
duplicate_of_id: SQLite took that one, mostly NULLs, for a selective way to find unmerged reports).

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction, so that
intake goes on while a large table is indexed; a build that fails leaves an INVALID index behind,
to be dropped before running this again.
"""
import contextlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_scale_indexes'
down_revision = '0007_integrations'
branch_labels = None
depends_on = None

OPEN_ONLY = sa.text('urgency_due_at IS NOT NULL')
MERGED_ONLY = sa.text('duplicate_of_id IS NOT NULL')
QUEUE_ORDER = ['severity_rank', 'urgency_due_at', 'id']

# (name, columns, partial: None, OPEN_ONLY or MERGED_ONLY)
NEW = [
    ('ix_reports_status_page', ['status', 'id'], None),
    ('ix_reports_severity_page', ['severity', 'id'], None),
    ('ix_reports_region_page', ['region_code', 'id'], None),
    ('ix_reports_reporter_page', ['reporter_id', 'id'], None),
    ('ix_reports_unit_page', ['unit_id', 'id'], None),
    # A sector in a district: SQLite, which keeps no statistics per value, otherwise reads all
    # of the district's reports for a rare sector.
    ('ix_reports_sector_region_id', ['sector', 'region_code', 'id'], None),
    ('ix_reports_status_submitted_at', ['status', 'submitted_at'], None),
    ('ix_reports_queue_status', ['status', *QUEUE_ORDER], OPEN_ONLY),
    ('ix_reports_queue_sector', ['sector', *QUEUE_ORDER], OPEN_ONLY),
    ('ix_reports_queue_region', ['region_code', *QUEUE_ORDER], OPEN_ONLY),
    (
        'ix_reports_queue_counts',
        ['severity', 'status', 'sector', 'region_code', 'overdue', 'unit_id', 'urgency_due_at'],
        OPEN_ONLY,
    ),
    ('ix_reports_merged', ['duplicate_of_id', 'submitted_at', 'id'], MERGED_ONLY),
]
# Replaced by the ones above.
OLD = [
    ('ix_reports_status', ['status']),
    ('ix_reports_severity', ['severity']),
    ('ix_reports_region_code', ['region_code']),
    ('ix_reports_reporter_id', ['reporter_id']),
    ('ix_reports_unit_id', ['unit_id']),
    ('ix_reports_duplicate_of_id', ['duplicate_of_id']),
    # Over every report, most of them closed and not overdue: it only led PostgreSQL, which
    # cannot know that overdue reports are open ones, away from the queue's indexes.
    ('ix_reports_overdue', ['overdue']),
]


def _create(name, columns, partial=None):
    where = {'sqlite_where': partial, 'postgresql_where': partial} if partial is not None else {}
    op.create_index(
        name,
        'reports',
        columns,
        unique=False,
        postgresql_concurrently=_postgresql(),
        **where,
    )


def _drop(name):
    op.drop_index(name, table_name='reports', postgresql_concurrently=_postgresql())


def _postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def _outside_transaction():
    """PostgreSQL builds indexes CONCURRENTLY only outside a transaction."""
    return op.get_context().autocommit_block() if _postgresql() else contextlib.nullcontext()


def upgrade():
    with _outside_transaction():
        for name, columns, partial in NEW:
            _create(name, columns, partial)
        # The queue's index, over every report until now, becomes partial.
        _drop('ix_reports_queue')
        _create('ix_reports_queue', QUEUE_ORDER, OPEN_ONLY)
        for name, _ in OLD:
            _drop(name)


def downgrade():
    with _outside_transaction():
        for name, columns in OLD:
            _create(name, columns)
        _drop('ix_reports_queue')
        _create('ix_reports_queue', QUEUE_ORDER)
        for name, _, _ in reversed(NEW):
            _drop(name)
