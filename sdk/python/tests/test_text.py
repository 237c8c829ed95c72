"""Text and log fields are made safe to send."""

import json
import math
import unittest
from dataclasses import dataclass

from batchhost_sdk import _text


class Unprintable:
    def __str__(self):
        raise RuntimeError("no")


@dataclass
class Point:
    x: int


class TextTest(unittest.TestCase):
    def test_truncate_cuts_on_a_character_and_marks_it(self):
        self.assertEqual(_text.truncate("short", 100), "short")
        s = _text.truncate("é" * 100, 50)
        self.assertLessEqual(len(s.encode()), 50)
        self.assertTrue(s.endswith("…(truncated)"))
        self.assertTrue(s.startswith("éé"))

    def test_lone_surrogates_become_replacement_characters(self):
        bad = b"caf\xe9".decode("utf-8", "surrogateescape")
        self.assertEqual(_text.clean(bad), "caf\ufffd")
        self.assertEqual(_text.truncate(bad, 100).encode(), "caf\ufffd".encode())

    def test_fields_survive_values_json_cannot_carry(self):
        got = json.loads(_text.fields_json({
            "nan": math.nan, "inf": math.inf, "set": {1}, "obj": Unprintable(), "pt": Point(2),
            "nested": {"k": [1, (2, 3)]}, 3: "int key", "bytes": b"\xffx",
        }))
        self.assertEqual(got["nan"], "nan")
        self.assertEqual(got["inf"], "inf")
        self.assertEqual(got["set"], [1])
        self.assertEqual(got["obj"], "!ERROR: no")
        self.assertEqual(got["pt"], {"x": 2})
        self.assertEqual(got["nested"], {"k": [1, [2, 3]]})
        self.assertEqual(got["3"], "int key")
        self.assertEqual(got["bytes"], "\ufffdx")

    def test_oversized_fields_are_replaced_by_their_size(self):
        got = json.loads(_text.fields_json({"big": "x" * (_text.MAX_LOG_FIELDS + 1)}))
        self.assertEqual(list(got), ["fields_truncated_bytes"])

    def test_deep_nesting_is_cut(self):
        v = []
        for _ in range(1000):
            v = [v]
        got = _text.fields_json({"deep": v})
        self.assertTrue(json.loads(got))


if __name__ == "__main__":
    unittest.main()
