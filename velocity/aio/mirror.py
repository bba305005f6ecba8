"""How the async object model is made from the synchronous one.

:func:`mirror` is a class decorator: ``@mirror(Container, parent="conn")`` on
a class deriving from :class:`AsyncTwin` gives it every public member of
:class:`~velocity.container.Container`, name for name:

* each public method (also class methods) becomes an ``async def`` of the
  same name and :func:`inspect.signature` (``__wrapped__``, ``__doc__``
  copied) that runs the synchronous call in the twin's
  :class:`~velocity.aio.bridge.WorkerPool`;
* what a call returns is given its twin (:func:`twin`): a ``Container``
  becomes an ``AsyncContainer`` and so on, listing results included;
  twins passed as arguments are unwrapped, and a ``callback`` argument is
  called on the event loop's thread;
* properties named in ``plain`` (they do no I/O), class attributes and
  instance attributes are plain attribute reads and writes on the
  synchronous object;
* every other property may do I/O (a login, a request), so the twin has an
  awaitable attribute of the same name: ``await conn.cdn_url``;
* ``obj[key]`` becomes ``await obj[key]``, ``for x in obj`` becomes ``async
  for x in obj``, ``with obj`` becomes ``async with obj``.

With ``blocking=False`` (listing results, which hold what one listing
returned) every member is forwarded as a plain call instead, and results are
given their twins just the same.  What a twin class defines itself is kept:
that is where it differs by nature (streams as async iterators, closing).
"""

from __future__ import annotations

import abc
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any, ClassVar, TypeVar

from velocity import errors
from velocity.aio.bridge import WorkerPool, on_loop

__all__ = ["AsyncTwin", "mirror", "twin", "sync_of", "face_of", "public_members"]

C = TypeVar("C", bound=type)

#: sync class -> twin class, filled by :func:`mirror`
_TWINS: dict[type, type[Any]] = {}
#: items per pool round trip when iterating a synchronous object
ITER_BATCH = 1000


class AsyncTwin:
    """The base of the async twins: the synchronous object (:attr:`sync`),
    the parent twin (``None`` for a connection) and the pool it runs in.

    Attribute reads that the twin class does not answer itself go to the
    synchronous object, and so do writes (``obj.metadata = {...}``).
    """

    __slots__ = ("sync", "_parent", "_pool", "__weakref__")
    #: the synchronous class this twin mirrors (set by :func:`mirror`)
    sync_class: ClassVar[type]
    #: the attribute of the synchronous object that holds its parent
    parent_attribute: ClassVar[str | None] = None

    sync: Any
    _parent: AsyncTwin | None
    _pool: WorkerPool

    def __init__(self, sync: Any, parent: AsyncTwin) -> None:
        _check_type(type(self), sync)
        object.__setattr__(self, "sync", sync)
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_pool", parent._pool)

    @classmethod
    def _adopt(cls, owner: Any, sync: Any) -> Any:
        """The twin of ``sync`` (an instance of :attr:`sync_class`) met by ``owner``."""
        return cls(sync, twin(owner, getattr(sync, cls.parent_attribute or "")))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "sync":  # not made yet: no recursion
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return twin(self, getattr(self.sync, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in AsyncTwin.__slots__ or _declared(type(self), name):
            object.__setattr__(self, name, value)
        else:
            setattr(self.sync, name, sync_of(value))

    def __repr__(self) -> str:
        return "Async%r" % (self.sync,)

    def __str__(self) -> str:
        return str(self.sync)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AsyncTwin):
            return NotImplemented
        return type(self) is type(other) and bool(self.sync == other.sync)

    def __hash__(self) -> int:
        return hash(self.sync)

    async def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)`` in the pool, its result given its twin."""
        return twin(self, await self._pool.run(func, *args, **kwargs))

    async def _iterate(self, make: Callable[[], Any], batch: int = ITER_BATCH
                       ) -> AsyncIterator[Any]:
        async for item in self._pool.iterate(make, batch):
            yield twin(self, item)


def _declared(cls: type, name: str) -> bool:
    """Whether ``name`` is a slot or descriptor of the twin class itself."""
    for klass in cls.__mro__:
        if name in getattr(klass, "__slots__", ()) or (
                klass is not object and name in klass.__dict__):
            return True
    return False


def _check_type(cls: type, sync: Any) -> None:
    if not isinstance(sync, cls.sync_class):  # type: ignore[attr-defined]
        raise errors.ConfigurationError("%s wraps a %s, got %s" % (
            cls.__name__, cls.sync_class.__name__, type(sync).__name__))  # type: ignore[attr-defined]


# -- twins of values -----------------------------------------------------------------


def _lineage(owner: Any) -> Iterator[Any]:
    while owner is not None:
        yield owner
        owner = getattr(owner, "_parent", None)


def twin(owner: Any, value: Any) -> Any:
    """``value`` as the async face has it: a synchronous model object or
    listing result becomes its twin (``owner`` itself, or one of its parents,
    when it wraps that very object); anything else is returned as is."""
    for klass in type(value).__mro__:
        twin_class = _TWINS.get(klass)
        if twin_class is not None:
            break
    else:
        return value
    for node in _lineage(owner):
        if getattr(node, "sync", None) is value:
            return node
    return twin_class._adopt(owner, value)


def sync_of(value: Any) -> Any:
    """The synchronous object under a twin, or ``value`` itself."""
    return value.sync if isinstance(value, AsyncTwin) else value


def _unwrapped(args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (tuple(sync_of(a) for a in args),
            {key: sync_of(value) for key, value in kwargs.items()})


def public_members(cls: type) -> dict[str, Any]:
    """``name -> static attribute`` of the public members of ``cls``
    (inherited ones too; ``object``'s left out)."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name, value in vars(klass).items():
            if not name.startswith("_"):
                found[name] = value
    return found


# -- the generated members ------------------------------------------------------------


def face_of(original: Callable[..., Any], note: str = ""
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give the decorated twin method ``original``'s name, signature and
    docstring (plus ``note``); for members a twin writes itself."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        qualname = method.__qualname__
        module = method.__module__
        functools.update_wrapper(method, original)
        method.__qualname__ = qualname
        method.__module__ = module
        method.__signature__ = inspect.signature(original)  # type: ignore[attr-defined]
        if note:
            method.__doc__ = "%s\n\n%s" % (inspect.cleandoc(original.__doc__ or ""), note)
        return method

    return decorate


def _callbacks_on_loop(signature: inspect.Signature, args: tuple[Any, ...],
                       kwargs: dict[str, Any], skip: int) -> tuple[tuple[Any, ...],
                                                                    dict[str, Any]]:
    """Route a ``callback`` argument through the loop's thread."""
    names = list(signature.parameters)
    if "callback" not in names:
        return args, kwargs
    index = names.index("callback") - skip
    if callable(kwargs.get("callback")):
        kwargs = {**kwargs, "callback": on_loop(kwargs["callback"])}
    elif 0 <= index < len(args) and callable(args[index]):
        args = (*args[:index], on_loop(args[index]), *args[index + 1:])
    return args, kwargs


def _async_method(twin_class: type, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(func)

    @face_of(func)
    async def method(self: AsyncTwin, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = _callbacks_on_loop(signature, *_unwrapped(args, kwargs), skip=1)
        return await self._call(getattr(self.sync, name), *args, **kwargs)

    method.__qualname__ = "%s.%s" % (twin_class.__name__, name)
    return method


def _async_classmethod(twin_class: type, name: str, func: Callable[..., Any]) -> classmethod:
    sync_class = twin_class.sync_class  # type: ignore[attr-defined]

    @face_of(func)
    async def method(cls: type, *args: Any, **kwargs: Any) -> Any:
        return await run_in_new_pool(cls, getattr(sync_class, name), args, kwargs)

    method.__qualname__ = "%s.%s" % (twin_class.__name__, name)
    return classmethod(method)


async def run_in_new_pool(twin_class: type, func: Callable[..., Any], args: tuple[Any, ...],
                          kwargs: dict[str, Any],
                          max_workers: int | None = None) -> Any:
    """Run a call that belongs to no twin object (a constructor, a class
    method of ``twin_class``) in a new pool.  When it makes an object of a
    root twin class (a connection), the twin made of it owns that pool;
    otherwise the pool is shut down again."""
    pool = WorkerPool(max_workers) if max_workers is not None else WorkerPool()
    args, kwargs = _unwrapped(args, kwargs)
    try:
        result = await pool.run(func, *args, **kwargs)
    except BaseException:
        pool.shutdown()
        raise
    if hasattr(twin_class, "_adopt_root") and isinstance(
            result, twin_class.sync_class):  # type: ignore[attr-defined]
        return twin_class._adopt_root(result, pool)  # type: ignore[attr-defined]
    pool.shutdown()
    return result


def _plain_method(twin_class: type, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @face_of(func)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = _unwrapped(args, kwargs)
        result = getattr(self.sync, name)(*args, **kwargs)
        if isinstance(result, Iterator) and not hasattr(result, "__len__"):
            return (twin(self, item) for item in result)
        return twin(self, result)

    method.__qualname__ = "%s.%s" % (twin_class.__name__, name)
    return method


def _forwarded(name: str, prop: Any = None) -> property:
    """A plain attribute of the synchronous object (read, and write when it can be)."""
    writable = prop is None or getattr(prop, "fset", None) is not None

    def read(self: Any) -> Any:
        return twin(self, getattr(self.sync, name))

    def write(self: Any, value: Any) -> None:
        setattr(self.sync, name, sync_of(value))

    return property(read, write if writable else None,
                    doc=getattr(prop, "__doc__", None) or "``sync.%s``" % name)


class _Later:
    """An awaitable call of a twin's synchronous object: ``await`` runs
    ``func(*args)`` in the pool and gives the result its twin."""

    __slots__ = ("_owner", "_func", "_args", "_what")

    def __init__(self, owner: AsyncTwin, what: str, func: Callable[..., Any], *args: Any) -> None:
        self._owner = owner
        self._what = what
        self._func = func
        self._args = args

    def __await__(self) -> Generator[Any, None, Any]:
        return self._owner._call(self._func, *self._args).__await__()

    def __repr__(self) -> str:
        return "<awaitable %s%s>" % (type(self._owner).__name__, self._what)


class _AwaitedAttribute:
    """``await twin.name``: the synchronous property ``name``, read in the pool."""

    def __init__(self, name: str, prop: property) -> None:
        self.name = name
        self.__doc__ = "Awaitable: %s" % (prop.__doc__ or name)

    def __get__(self, owner: Any, cls: type | None = None) -> Any:
        if owner is None:
            return self
        return _Later(owner, "." + self.name, getattr, owner.sync, self.name)


def _awaitable_item(self: AsyncTwin, key: Any) -> _Later:
    """``await twin[key]``: the item, read in the pool."""
    return _Later(self, "[%r]" % (key,), self.sync.__getitem__, sync_of(key))


def _aiter(self: AsyncTwin) -> AsyncIterator[Any]:
    """``async for item in twin``: the items, fetched in the pool."""
    return self._iterate(lambda: iter(self.sync))


async def _aenter(self: Any) -> Any:
    return self


async def _aexit(self: Any, *exc: object) -> None:
    await self.close()


# -- the decorator ------------------------------------------------------------------


def mirror(sync_class: type, *, parent: str | None = None, plain: tuple[str, ...] = (),
           blocking: bool = True) -> Callable[[C], C]:
    """Fill the decorated twin class with ``sync_class``'s public members
    (see the module's docstring) and register it as that class's twin.

    :param parent: the attribute of a ``sync_class`` object that holds its
        parent (``None``: a root, which owns or shares a pool)
    :param plain: properties that do no I/O, forwarded as plain reads
    :param blocking: ``False`` for classes that do no I/O at all: every
        member is a plain forwarded call
    """

    def decorate(twin_class: C) -> C:
        twin_class.sync_class = sync_class  # type: ignore[attr-defined]
        twin_class.parent_attribute = parent  # type: ignore[attr-defined]
        _TWINS[sync_class] = twin_class
        for name, member in public_members(sync_class).items():
            if name in twin_class.__dict__:
                continue  # written by hand
            setattr(twin_class, name, _member(twin_class, name, member, plain, blocking))
        _dunders(twin_class, sync_class, blocking)
        abc.update_abstractmethods(twin_class)
        return twin_class

    return decorate


def _member(twin_class: type, name: str, member: Any, plain: tuple[str, ...],
            blocking: bool) -> Any:
    if isinstance(member, property):
        if not blocking or name in plain:
            return _forwarded(name, member)
        return _AwaitedAttribute(name, member)
    if isinstance(member, (classmethod, staticmethod)):
        func = member.__func__
        if blocking:
            return _async_classmethod(twin_class, name, func)
        return member  # no I/O: the very same callable
    if inspect.isfunction(member):
        make = _async_method if blocking else _plain_method
        return make(twin_class, name, member)
    return _forwarded(name)  # a class attribute, such as a default


def _dunders(twin_class: type, sync_class: type, blocking: bool) -> None:
    """The protocols: ``[]``, iteration, ``len``, ``in`` and ``with``."""
    own = twin_class.__dict__
    if not blocking:
        for name in ("__getitem__", "__len__", "__iter__", "__contains__"):
            func = getattr(sync_class, name, None)
            if func is not None and name not in own:
                setattr(twin_class, name, _plain_method(twin_class, name, func))
        return
    extra = {"__getitem__": ("__getitem__", _awaitable_item), "__iter__": ("__aiter__", _aiter),
             "__enter__": ("__aenter__", _aenter), "__exit__": ("__aexit__", _aexit)}
    for sync_name, (name, func) in extra.items():
        if getattr(sync_class, sync_name, None) is not None and name not in own:
            setattr(twin_class, name, func)
