"""Tests of the textstats plugin, without a host: batchhost_sdk.testing
runs the task through the real plugin protocol in process.

    PYTHONPATH=sdk/python /usr/bin/python3 -m unittest discover -s examples/python-plugin
"""

import os
import tempfile
import threading
import unittest

from batchhost_sdk import Cancelled, Job, testing

import textstats

ENGLISH = "The cat sat on the mat. It was the best of times, and the worst of times.\nDon't panic!\n"
GERMAN = "Der Hund und die Katze sind in dem Haus. Es ist nicht das, was ich dachte, und das ist gut."


class TextstatsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.remove(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def test_counts_and_top_words(self):
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("en.txt", ENGLISH), "top": 3})
        self.assertIsNone(res.error)
        out = res.output
        self.assertEqual(out["words"], 19)
        self.assertEqual(out["lines"], 2)
        self.assertEqual(out["top"], [{"word": "the", "count": 4}, {"word": "of", "count": 2},
                                      {"word": "times", "count": 2}])
        self.assertEqual(out["language"], "en")

    def test_inner_apostrophes_join_words(self):
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("a.txt", "Don't stop; don't 2go")})
        self.assertEqual(res.output["top"][0], {"word": "don't", "count": 2})
        self.assertEqual(res.output["words"], 4)

    def test_language_guess(self):
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("de.txt", GERMAN)})
        self.assertEqual(res.output["language"], "de")
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("x.txt", "zzz qqq xxyz")})
        self.assertEqual(res.output["language"], "unknown")

    def test_progress_per_chunk_and_words_across_chunks(self):
        # Words straddle every chunk boundary; each must count once, whole.
        text = "alpha beta " * (3 * textstats.CHUNK_BYTES // 11 + 7)
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("big.txt", text)})
        self.assertIsNone(res.error)
        self.assertEqual(res.output["unique"], 2)
        self.assertEqual(res.output["words"], 2 * (3 * textstats.CHUNK_BYTES // 11 + 7))
        fractions = [p.fraction for p in res.progress()]
        self.assertEqual(len(fractions), -(-len(text) // textstats.CHUNK_BYTES))
        self.assertEqual(fractions, sorted(fractions))
        self.assertEqual(fractions[-1], 1.0)
        self.assertEqual([l.message for l in res.logs()], ["reading", "analyzed"])

    def test_last_line_without_newline_counts(self):
        res = testing.run(textstats.plugin(), "analyze", {"path": self.write("l.txt", "one\ntwo")})
        self.assertEqual(res.output["lines"], 2)

    def test_relative_missing_and_directory_paths_are_invalid_args(self):
        for path, want in [("notes.txt", "relative"), (os.path.join(self.dir, "nope.txt"), "does not exist"),
                           (self.dir, "is a directory")]:
            res = testing.run(textstats.plugin(), "analyze", {"path": path})
            self.assertEqual(res.error.kind, "invalid_args", path)
            self.assertFalse(res.error.retryable)
            self.assertIn(want, res.error.message)

    def test_binary_and_non_utf8_are_unsupported(self):
        for data in [b"abc\0def", b"caf\xe9 au lait"]:
            res = testing.run(textstats.plugin(), "analyze", {"path": self.write("b.bin", data)})
            self.assertEqual(res.error.kind, "unsupported_format", data)

    def test_stops_when_cancelled(self):
        cancelled = threading.Event()
        cancelled.set()
        args = textstats.AnalyzeArgs(path=self.write("c.txt", ENGLISH))
        with self.assertRaises(Cancelled):
            textstats.analyze(Job(cancelled=cancelled), args)
        res = testing.run(textstats.plugin(), "analyze", {"path": args.path}, cancel=cancelled)
        self.assertEqual(res.error.kind, "canceled")
        self.assertFalse(res.abandoned)

    def test_callable_directly(self):
        out = textstats.analyze(Job(), textstats.AnalyzeArgs(path=self.write("d.txt", "a b a")))
        self.assertEqual(out["top"][0], {"word": "a", "count": 2})

    def test_conformance(self):
        testing.assert_conformance(textstats.plugin())


if __name__ == "__main__":
    unittest.main()
