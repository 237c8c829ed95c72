"""Decoding a job's JSON args into what a task asked for.

A task's args are the decoded JSON, or, when it names a type (a dataclass,
usually), an instance of that type built strictly: unknown fields, missing
fields and values of the wrong type are refused, so that a typo such as
"tiems" fails loudly instead of being ignored.
"""

import dataclasses
import json
import types
import typing

from .errors import InvalidArgs


def decode(raw, args_type):
    """Decodes raw (the job's JSON args, bytes) for a task whose args
    annotation is args_type (None: the plain JSON value). Empty args (no
    bytes, only white space, or null) give {} (or the type built from {}).
    Raises InvalidArgs naming the problem."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidArgs("invalid args: not UTF-8 (byte %d)" % e.start) from None
    text = text.strip()
    value = None
    if text:
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as e:
            raise InvalidArgs("invalid args: %s" % _json_message(e)) from None
    if value is None:
        value = {}
    if args_type is None:
        return value
    obj = _convert(value, args_type, "")
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except InvalidArgs:
            raise
        except Exception as e:
            raise InvalidArgs("invalid args: %s" % (str(e) or type(e).__name__)) from None
    return obj


def _refuse_constant(name):
    raise ValueError("%s is not JSON" % name)


def _json_message(e):
    if isinstance(e, json.JSONDecodeError):
        if e.msg == "Extra data":
            return "unexpected data after the JSON value"
        return "%s at line %d column %d" % (e.msg, e.lineno, e.colno)
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return str(e)


_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean",
          int: "integer", float: "number", type(None): "null"}


def _kind(v):
    return _NAMES.get(type(v), type(v).__name__)


def _where(path):
    return "field %s: " % path if path else ""


def _fail(path, want, v):
    raise InvalidArgs("invalid args: %swant %s, got %s" % (_where(path), want, _kind(v)))


def _convert(v, tp, path):
    if tp is typing.Any or tp is object:
        return v
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        alts = typing.get_args(tp)
        if v is None and type(None) in alts:
            return None
        errors = []
        for alt in alts:
            if alt is type(None):
                continue
            try:
                return _convert(v, alt, path)
            except InvalidArgs as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        _fail(path, " or ".join(_type_name(a) for a in alts), v)
    if origin is typing.Literal:
        if v in typing.get_args(tp):
            return v
        raise InvalidArgs("invalid args: %s%r is not one of %s" % (
            _where(path), v, ", ".join(repr(a) for a in typing.get_args(tp))))
    if origin in (list, typing.List) or tp in (list, typing.List):
        if not isinstance(v, list):
            _fail(path, "array", v)
        (elem,) = typing.get_args(tp) or (typing.Any,)
        return [_convert(x, elem, "%s[%d]" % (path, i)) for i, x in enumerate(v)]
    if origin in (dict, typing.Dict) or tp in (dict, typing.Dict):
        if not isinstance(v, dict):
            _fail(path, "object", v)
        args = typing.get_args(tp)
        elem = args[1] if len(args) == 2 else typing.Any
        return {k: _convert(x, elem, _join(path, k)) for k, x in v.items()}
    if dataclasses.is_dataclass(tp):
        return _dataclass(v, tp, path)
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            _fail(path, "number", v)
        return float(v)
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            _fail(path, "integer", v)
        return v
    if tp in (str, bool):
        if not isinstance(v, tp):
            _fail(path, _NAMES[tp], v)
        return v
    if isinstance(tp, type):
        if isinstance(v, tp):
            return v
        _fail(path, tp.__name__, v)
    return v  # an annotation this decoder does not check (a TypeVar, ...)


def _type_name(tp):
    return _NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _join(path, key):
    return "%s.%s" % (path, key) if path else str(key)


def _dataclass(v, tp, path):
    if not isinstance(v, dict):
        _fail(path, "object", v)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    for k in v:
        if k not in fields:
            raise InvalidArgs("invalid args: unknown field %s" % json.dumps(_join(path, k)))
    try:
        hints = typing.get_type_hints(tp)
    except Exception:
        hints = {}
    kwargs = {}
    for name, f in fields.items():
        if name in v:
            kwargs[name] = _convert(v[name], hints.get(name, typing.Any), _join(path, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidArgs("invalid args: missing field %s" % json.dumps(_join(path, name)))
    try:
        return tp(**kwargs)
    except InvalidArgs:
        raise
    except Exception as e:  # __post_init__ refused the values
        raise InvalidArgs("invalid args: %s%s" % (_where(path), str(e) or type(e).__name__)) from None


def args_type_of(fn):
    """The annotation of fn's second parameter (its args), or None."""
    import inspect
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(params) < 2:
        return None
    p = params[1]
    if p.annotation is inspect.Parameter.empty:
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    tp = hints.get(p.name, p.annotation)
    return None if isinstance(tp, str) else tp
