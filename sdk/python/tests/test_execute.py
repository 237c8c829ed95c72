"""Execute through the real gRPC protocol (batchhost_sdk.testing)."""

import math
import threading
import time
import unittest
from dataclasses import dataclass
from unittest import mock

from batchhost_sdk import (InvalidArgs, Job, Permanent, Plugin, RetryAfter, Task, UnsupportedFormat, testing)
from batchhost_sdk import _server
from batchhost_sdk._proto import plugin_pb2 as pb


@dataclass
class Out:
    n: int


class Boom(Exception):
    pass


def make_plugin(fn, name="t", args=None):
    return Plugin("p", "1.0.0", tasks=[Task(name, "a task", fn, args=args)])


def run(fn, args=None, **kw):
    return testing.run(make_plugin(fn), "t", args, **kw)


class ExecuteTest(unittest.TestCase):
    def test_output_events_and_job_fields(self):
        seen = {}

        def fn(job, args):
            seen.update(id=job.id, attempt=job.attempt, max=job.max_attempts, deadline=job.deadline)
            job.progress(0.25, "a")
            job.log.info("one", k="v")
            job.progress(2, "clamped")
            job.progress(-1, "clamped")
            job.progress(math.nan, "ignored")
            job.log.with_fields(w=1).warn("two", k=2)
            job.log.debug("three")
            job.log.error("four")
            return Out(n=args["n"])
        res = run(fn, {"n": 7}, attempt=2, max_attempts=4, job_id="j1", timeout=30)
        self.assertIsNone(res.error)
        self.assertEqual(res.output, {"n": 7})
        self.assertEqual(res.output_json, b'{"n":7}')
        evs = [e for e in res.events if not isinstance(e, testing.Heartbeat)]
        self.assertEqual([e.fraction if isinstance(e, testing.Progress) else e.message for e in evs],
                         [0.25, "one", 1.0, 0.0, "two", "three", "four"])
        self.assertEqual([l.level for l in res.logs()], ["info", "warn", "debug", "error"])
        self.assertEqual(res.logs()[1].fields, {"w": 1, "k": 2})
        self.assertEqual(seen["id"], "j1")
        self.assertEqual((seen["attempt"], seen["max"]), (2, 4))
        self.assertAlmostEqual(seen["deadline"], time.time() + 30, delta=10)

    def test_trace_context_reaches_the_job(self):
        seen = {}

        def fn(job, args):
            seen.update(parent=job.traceparent, state=job.tracestate)
            return {}
        parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        res = run(fn, traceparent=parent, tracestate="vendor=a")
        self.assertIsNone(res.error)
        self.assertEqual(seen, {"parent": parent, "state": "vendor=a"})
        run(fn)
        self.assertEqual(seen, {"parent": "", "state": ""})

    def test_heartbeats_while_the_task_runs(self):
        def fn(job, args):
            time.sleep(0.2)
            return {}
        res = run(fn, heartbeat=0.02)
        self.assertGreaterEqual(len([e for e in res.events if isinstance(e, testing.Heartbeat)]), 3)

    def test_error_kinds(self):
        cases = [
            (Permanent("never"), testing.Error("permanent", "never", False)),
            (InvalidArgs("bad arg"), testing.Error("invalid_args", "bad arg", False)),
            (UnsupportedFormat("a gif"), testing.Error("unsupported_format", "a gif", False)),
            (RetryAfter(1.5, "busy"), testing.Error("task_error", "busy", True, 1.5)),
            (RetryAfter(0.0001), testing.Error("task_error", "retry later", True, 0.001)),
            (RetryAfter(-3), testing.Error("task_error", "retry later", True, 0)),
            (ValueError("x is 3"), testing.Error("task_error", "ValueError: x is 3", True)),
            (Boom(), testing.Error("task_error", "Boom", True)),
            (KeyError("k"), testing.Error("task_error", "KeyError: 'k'", True)),
        ]
        for exc, want in cases:
            with self.subTest(exc=repr(exc)):
                def fn(job, args, exc=exc):
                    raise exc
                self.assertEqual(run(fn).error, want)

    def test_result_over_the_limit_is_result_too_large(self):
        with mock.patch.object(_server, "MAX_OUTPUT", 10):
            res = run(lambda job, args: {"text": "more than ten bytes"})
        self.assertEqual(res.error.kind, "result_too_large")
        self.assertIn("over the 10 a plugin can send", res.error.message)

    def test_plain_exception_logs_its_traceback(self):
        def fn(job, args):
            raise ValueError("deep problem")
        res = run(fn)
        (log,) = res.logs()
        self.assertEqual((log.level, log.message), ("error", "task t raised ValueError"))
        self.assertIn("Traceback (most recent call last)", log.fields["traceback"])
        self.assertIn("deep problem", log.fields["traceback"])
        self.assertNotIn("Traceback", res.error.message)

    def test_sys_exit_is_a_crash(self):
        def fn(job, args):
            raise SystemExit(4)
        self.assertEqual(run(fn).error.kind, "plugin_crashed")

    def test_unknown_task(self):
        res = testing.run(make_plugin(lambda job, args: 1), "nope")
        self.assertEqual(res.error, testing.Error("unknown_task", 'unknown task "nope": plugin "p" offers t', False))

    def test_results_json_cannot_carry_are_permanent(self):
        for out, want in [({1, 2}, "not JSON serializable"), (math.nan, "Out of range float")]:
            res = run(lambda job, args, out=out: out)
            self.assertEqual(res.error.kind, "permanent")
            self.assertIn(want, res.error.message)

    def test_bytes_args_and_bad_json(self):
        res = run(lambda job, args: args, b'{"a":1}')
        self.assertEqual(res.output, {"a": 1})
        res = run(lambda job, args: args, b"{")
        self.assertEqual(res.error.kind, "invalid_args")

    def test_timeout_cancels_and_the_task_sees_it(self):
        returned = threading.Event()

        def fn(job, args):
            job.cancelled.wait(30)
            job.raise_if_cancelled()
            returned.set()
        res = run(fn, timeout=0.1)
        self.assertEqual(res.error.kind, "timeout")
        self.assertTrue(res.error.retryable)
        self.assertFalse(res.abandoned)

    def test_cancel_event(self):
        cancel = threading.Event()

        def fn(job, args):
            cancel.set()
            if not job.cancelled.wait(30):
                return "not cancelled"
            job.raise_if_cancelled()
        res = run(fn, cancel=cancel)
        self.assertEqual(res.error, testing.Error("canceled", "the attempt was canceled"))
        self.assertFalse(res.abandoned)

    def test_records_sent_after_the_cancel_arrive(self):
        # What a task logs and reports between its cancel and its return
        # (its clean-up) reaches the host, as its result does.
        cancel = threading.Event()

        def fn(job, args):
            job.log.info("before")
            cancel.set()
            if not job.cancelled.wait(30):
                return "not cancelled"
            for i in range(3):
                job.log.info("cleaning up", i=i)
            job.progress(0.5, "cleaned up")
            job.raise_if_cancelled()
        res = run(fn, cancel=cancel)
        self.assertEqual(res.error, testing.Error("canceled", "the attempt was canceled"))
        self.assertFalse(res.abandoned)
        self.assertEqual([(l.message, l.fields.get("i")) for l in res.logs()],
                         [("before", None), ("cleaning up", 0), ("cleaning up", 1), ("cleaning up", 2)])
        self.assertEqual(res.progress(), [testing.Progress(0.5, "cleaned up")])

    def test_success_after_a_cancel_is_kept(self):
        # The host keeps a result that arrives after its cancel: the work
        # was done.
        def fn(job, args):
            if not job.cancelled.wait(30):
                return "not cancelled"
            job.log.info("finished anyway")
            return "done"
        res = run(fn, timeout=0.05)
        self.assertIsNone(res.error)
        self.assertEqual(res.output, "done")
        self.assertEqual([l.message for l in res.logs()], ["finished anyway"])

    def test_a_cancel_before_its_execute_call_starts_the_attempt_cancelled(self):
        def fn(job, args):
            return "cancelled" if job.cancelled.is_set() else "not cancelled"
        with testing._Conn(make_plugin(fn)) as c:
            c.stub.Cancel(pb.CancelRequest(job_id="early", attempt=1))
            res = testing._run(c, "t", b"", job_id="early")
            self.assertEqual(res.output, "cancelled")
            # Used once: the same attempt run again is not cancelled.
            res = testing._run(c, "t", b"", job_id="early")
            self.assertEqual(res.output, "not cancelled")

    def test_a_task_ignoring_cancel_is_abandoned(self):
        release = threading.Event()

        def fn(job, args):
            release.wait(30)
        try:
            res = run(fn, timeout=0.05, grace=0.2)
            self.assertTrue(res.abandoned)
        finally:
            release.set()

    def test_running_counts_tasks_until_they_return(self):
        started, release = threading.Event(), threading.Event()

        def fn(job, args):
            started.set()
            release.wait(30)
            return {}
        with testing._Conn(make_plugin(fn)) as c:
            results = []
            th = threading.Thread(target=lambda: results.append(testing._run(c, "t", b"")))
            th.start()
            self.assertTrue(started.wait(10))
            d = c.stub.Describe(pb.DescribeRequest())
            self.assertEqual(d.running, 1)
            release.set()
            th.join(10)
            self.assertEqual(c.stub.Describe(pb.DescribeRequest()).running, 0)
            self.assertIsNone(results[0].error)

    def test_a_flood_of_events_arrives_in_order(self):
        def fn(job, args):
            for i in range(2000):
                job.log.info("n", i=i)
            return {}
        res = run(fn)
        self.assertEqual([l.fields["i"] for l in res.logs()], list(range(2000)))

    def test_detached_job_discards(self):
        j = Job()
        j.progress(0.5, "x")
        j.log.info("x", a=1)
        self.assertFalse(j.cancelled.is_set())


class ConformanceTest(unittest.TestCase):
    def test_a_good_plugin_conforms(self):
        testing.assert_conformance(make_plugin(lambda job, args: {}))

    def test_a_task_that_accepts_anything_is_caught(self):
        p = make_plugin(lambda job, args: {}, args=None)
        # Raw bytes args are decoded by the SDK before the task: the only
        # way to accept bad JSON is to break the SDK, so check the checks.
        self.assertEqual(testing.refusal_problem(testing.Result(output_json=b"{}"), "invalid_args"),
                         "succeeded with b'{}', want an error of kind invalid_args")
        self.assertIn("retryable", testing.refusal_problem(
            testing.Result(error=testing.Error("invalid_args", "x", True)), "invalid_args"))
        self.assertIn("want invalid_args", testing.refusal_problem(
            testing.Result(error=testing.Error("task_error", "x", True)), "invalid_args"))
        self.assertIn("no message", testing.refusal_problem(
            testing.Result(error=testing.Error("invalid_args", "")), "invalid_args"))
        self.assertIsNone(testing.refusal_problem(testing.Result(error=testing.Error("invalid_args", "x")), "invalid_args"))
        self.assertEqual(testing.conformance(p), [])

    def test_describe_problems(self):
        p = Plugin("p", "1", tasks=[Task("a", "A", lambda j, a: 1), Task("b", "B", lambda j, a: 1)])

        def d(**kw):
            base = dict(name="p", version="1", tasks=[pb.TaskInfo(name="a", description="A"),
                                                      pb.TaskInfo(name="b", description="B")])
            base.update(kw)
            return pb.DescribeResponse(**base)
        self.assertEqual(testing.describe_problems(p, d()), [])
        for resp, want in [(d(name="q"), "name is 'q'"), (d(version=""), "no version"),
                           (d(fresh_process_per_attempt=True), "fresh_process_per_attempt"),
                           (d(tasks=[pb.TaskInfo(name="a", description="A")]), "lists 1 tasks"),
                           (d(tasks=[pb.TaskInfo(name="a", description=" "), pb.TaskInfo(name="b", description="B")]),
                            "no description")]:
            self.assertIn(want, "; ".join(testing.describe_problems(p, resp)))

    def test_an_invalid_plugin_is_reported(self):
        self.assertEqual(testing.conformance(Plugin("p", "1")), ["invalid plugin: plugin 'p' has no tasks: add at least one with Task(name, description, fn)"])


if __name__ == "__main__":
    unittest.main()
