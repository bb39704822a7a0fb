"""A store's outages become the error tree's ``StoreUnavailable`` at the store's boundary.

Callers (the web layer, the job runner) then see one engine-neutral condition that maps to a 503
with ``Retry-After``, instead of driver exceptions that would be a 500. Each engine says which of
its errors are an outage (app/store/mongo_outages.py, app/store/sqlite_outages.py); anything else
stays what it is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from app.errors import StoreUnavailable

T = TypeVar("T")
Translate = Callable[[Exception], "StoreUnavailable | None"]


def _guard(func: Callable[..., Any], translate: Translate) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from func(*args, **kwargs)
            except Exception as exc:
                error = translate(exc)
                if error is None:
                    raise
                raise error from exc

        return generator

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            error = translate(exc)
            if error is None:
                raise
            raise error from exc

    return call


def guard_public_methods(cls: type[T], translate: Translate) -> type[T]:
    """Every public method of ``cls`` raises what ``translate`` makes of an error (when it makes
    a StoreUnavailable of it), chained to the original for the operator's tools."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _guard(member, translate))
    return cls


def outage_guard(translate: Translate) -> Callable[[type[T]], type[T]]:
    """A class decorator for one engine's stores: ``translate`` says which of its errors are an
    outage."""
    return functools.partial(guard_public_methods, translate=translate)
