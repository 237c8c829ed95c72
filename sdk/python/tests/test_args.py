"""Decoding job args: strict for typed tasks, refusals are invalid_args."""

import typing
import unittest
from dataclasses import dataclass, field

from batchhost_sdk import InvalidArgs
from batchhost_sdk._args import args_type_of, decode


@dataclass
class Inner:
    name: str


@dataclass
class Args:
    path: str
    top: int = 10
    ratio: float = 0.5
    tags: typing.List[str] = field(default_factory=list)
    inner: typing.Optional[Inner] = None
    mode: typing.Literal["copy", "move"] = "copy"
    extra: dict = field(default_factory=dict)


@dataclass
class Checked:
    n: int

    def validate(self):
        if self.n < 0:
            raise ValueError("n must not be negative")


class DecodeTest(unittest.TestCase):
    def test_untyped_gets_the_json_value(self):
        self.assertEqual(decode(b'{"a": [1, 2]}', None), {"a": [1, 2]})
        self.assertEqual(decode(b"[1]", None), [1])
        for empty in (b"", b"  \n", b"null"):
            self.assertEqual(decode(empty, None), {})

    def test_dataclass_built_strictly(self):
        got = decode(b'{"path": "/a", "top": 3, "ratio": 2, "tags": ["x"], "inner": {"name": "n"}, "mode": "move"}', Args)
        self.assertEqual(got, Args(path="/a", top=3, ratio=2.0, tags=["x"], inner=Inner("n"), mode="move"))
        self.assertIsInstance(got.ratio, float)
        self.assertEqual(decode(b'{"path": "/a", "inner": null}', Args).inner, None)

    def test_refusals_name_the_problem(self):
        cases = [
            (b"{", "invalid args: Expecting property name"),
            (b"{} {}", "unexpected data after the JSON value"),
            (b'{"path": NaN}', "NaN is not JSON"),
            (b'\xff{}', "not UTF-8"),
            (b"[]", "want object, got array"),
            (b'{"pth": "/a"}', 'unknown field "pth"'),
            (b"{}", 'missing field "path"'),
            (b'{"path": 1}', "field path: want string, got integer"),
            (b'{"path": "/a", "top": true}', "field top: want integer, got boolean"),
            (b'{"path": "/a", "top": 1.5}', "field top: want integer, got number"),
            (b'{"path": "/a", "tags": ["x", 2]}', "field tags[1]: want string, got integer"),
            (b'{"path": "/a", "inner": {"nam": "x"}}', 'unknown field "inner.nam"'),
            (b'{"path": "/a", "mode": "rename"}', "'rename' is not one of 'copy', 'move'"),
        ]
        for raw, want in cases:
            with self.subTest(raw=raw):
                with self.assertRaises(InvalidArgs) as cm:
                    decode(raw, Args)
                self.assertIn(want, str(cm.exception))

    def test_validate_is_called(self):
        self.assertEqual(decode(b'{"n": 1}', Checked), Checked(1))
        with self.assertRaises(InvalidArgs) as cm:
            decode(b'{"n": -1}', Checked)
        self.assertEqual(str(cm.exception), "invalid args: n must not be negative")

    def test_args_type_from_annotation(self):
        def typed(job, args: Args):
            pass

        def plain(job, args):
            pass
        self.assertIs(args_type_of(typed), Args)
        self.assertIsNone(args_type_of(plain))


if __name__ == "__main__":
    unittest.main()
