"""Making a task's text and values safe to send to the host."""

import dataclasses
import json
import math

# Limits on what one event may carry, so that a runaway task cannot break
# the protocol's message limit and lose the attempt's stream. The same as
# the Go SDK's.
MAX_PROGRESS_MESSAGE = 4 << 10
MAX_LOG_MESSAGE = 64 << 10
MAX_LOG_FIELDS = 256 << 10
MAX_ERROR_MESSAGE = 64 << 10

_MARK = "…(truncated)"

# Deepest nesting of log fields written out; the host refuses JSON nested
# beyond 512 levels, and deeper values are written as text.
_MAX_DEPTH = 64


def clean(s):
    """Returns s as text protobuf accepts: lone surrogates (from bytes
    decoded with surrogateescape) become U+FFFD instead of failing the
    event's encoding."""
    if not isinstance(s, str):
        s = str(s)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in s)


def truncate(s, limit):
    """Returns clean(s) cut to at most limit UTF-8 bytes on a character
    boundary, the cut marked."""
    s = clean(s)
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    cut = limit - len(_MARK.encode("utf-8"))
    return b[:max(cut, 0)].decode("utf-8", "ignore") + _MARK


def fields_json(fields):
    """Encodes a log record's fields as a JSON object. Values JSON cannot
    carry (NaN, sets, objects) are converted or written as text rather than
    failing the record."""
    obj = {clean(k): _jsonable(v, 0) for k, v in fields.items()}
    b = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(b) > MAX_LOG_FIELDS:
        b = json.dumps({"fields_truncated_bytes": len(b)}).encode("utf-8")
    return b


def _jsonable(v, depth):
    if v is None or isinstance(v, (bool, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, str):
        return clean(v)
    if depth >= _MAX_DEPTH:
        return _text(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        try:
            v = dataclasses.asdict(v)
        except Exception as e:  # a field that cannot be copied
            return "!ERROR: %s" % e
    if isinstance(v, dict):
        return {clean(k): _jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x, depth + 1) for x in v]
    if isinstance(v, bytes):
        return clean(v.decode("utf-8", "replace"))
    return _text(v)


def _text(v):
    try:
        return clean(str(v))
    except Exception as e:  # a __str__ that raises must not lose the record
        return "!ERROR: %s" % e
