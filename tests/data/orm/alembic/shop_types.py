"""Column types of the project: revisions import them, and lockgate reads each as its impl."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


class Document(sa.types.TypeDecorator):
    """A JSON document, stored as jsonb."""

    impl = postgresql.JSONB
    cache_ok = True


class Note(sa.types.TypeDecorator):
    impl = sa.Text
    cache_ok = True
