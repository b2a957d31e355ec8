"""The database: connections and transactions, typed models, Alembic migrations, the change
writer (`changes`) and row -> record conversions.

Rule: modules here take an open SQLAlchemy session (or the `Database`) and read or write
rows; they may use `engine.core`, never `engine.usecases` or `engine.jobs`.  They hold no
business rule of who may do what: that is the use cases' job.  Migrations under
`migrations/versions/` import nothing from the engine: an old migration must do what it did
the day it was written.
"""
