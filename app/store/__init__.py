"""Storage: one interface (TxStore), two engines (SQLite embedded, MongoDB for production)."""

from app.settings import Settings
from app.store.base import TxStore


def open_store(settings: Settings) -> TxStore:
    """The engine the settings name; pymongo is imported only when MongoDB is used."""
    if settings.storage == "mongodb":
        from app.store.mongo import MongoStore

        return MongoStore(settings.db.reveal())
    from app.store.sqlite import SqliteStore

    return SqliteStore(settings.db.reveal(), settings.sqlite_synchronous,
                       settings.sqlite_busy_timeout)
