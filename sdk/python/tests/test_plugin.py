"""Plugin configuration problems are named in one line."""

import unittest

from batchhost_sdk import Plugin, Task, task


def ok(job, args):
    return {}


class PluginTest(unittest.TestCase):
    def test_problems(self):
        cases = [
            (Plugin("", "1", [Task("a", "A", ok)]), "plugin name is empty"),
            (Plugin("My Plugin", "1", [Task("a", "A", ok)]), "plugin name 'My Plugin' is invalid"),
            (Plugin("p", "1", []), "has no tasks"),
            (Plugin("p", "1", [ok]), "task 1 is a function, not a Task"),
            (Plugin("p", "1", [Task(".a", "A", ok)]), "task name '.a' is invalid"),
            (Plugin("p", "1", [Task("a", "A", None)]), "task 'a' has no function"),
            (Plugin("p", "1", [Task("a", "A", lambda job: 1)]), "must take two arguments: (job, args)"),
            (Plugin("p", "1", [Task("a", "two\nlines", ok)]), "the description must be one line"),
            (Plugin("p", "1", [Task("a", "A", ok), Task("a", "B", ok)]), "task 'a' is declared twice"),
            (Plugin("p", 1, [Task("a", "A", ok)]), "the version must be a string"),
        ]
        for p, want in cases:
            with self.subTest(want=want):
                self.assertIn(want, p.problem() or "")

    def test_valid(self):
        p = Plugin("p-1_x", "1.0.0")

        @p.task("a.b", "A")
        def a(job, args):
            return args
        self.assertIsNone(p.problem())
        self.assertEqual(p.tasks, [a])
        self.assertEqual(a(None, 3), 3)  # a Task is callable like its function

    def test_decorator_keeps_args_type(self):
        @task("t", "T", args=dict)
        def t(job, args):
            return args
        self.assertIs(t.args_type, dict)
        self.assertEqual(t.name, "t")


if __name__ == "__main__":
    unittest.main()
