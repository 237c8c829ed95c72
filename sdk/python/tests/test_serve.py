"""serve() in a real plugin process, started as a host starts it."""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import grpc

from batchhost_sdk import _protocol
from batchhost_sdk._proto import plugin_pb2 as pb
from batchhost_sdk._proto import plugin_pb2_grpc

SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLUGIN = textwrap.dedent('''
    import os, sys
    from batchhost_sdk import Plugin, Task, serve
    print("printed while loading")

    def shout(job, args):
        print("printed by a task")
        os.system("echo printed by a command")
        return {"pid": os.getpid()}

    serve(Plugin("shout", "1.0.0", tasks=[Task("shout", "Prints", shout)]))
''')


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bhpy")
        self.script = os.path.join(self.dir, "batchhost-plugin-shout")
        with open(self.script, "w") as f:
            f.write(PLUGIN)

    def tearDown(self):
        for root, dirs, files in os.walk(self.dir, topdown=False):
            for n in files:
                os.remove(os.path.join(root, n))
            for n in dirs:
                os.rmdir(os.path.join(root, n))
        os.rmdir(self.dir)

    def start(self, env=None, pass_fds=()):
        e = dict(os.environ, PYTHONPATH=SDK, PLUGIN_UNIX_SOCKET_DIR=self.dir, PLUGIN_PROTOCOL_VERSIONS="1",
                 **{_protocol.MAGIC_COOKIE_KEY: _protocol.MAGIC_COOKIE_VALUE})
        e.update(env or {})
        return subprocess.Popen([sys.executable, self.script], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=pass_fds)

    def handshake(self, proc):
        line = proc.stdout.readline().decode()
        parts = line.rstrip("\n").split("|")
        self.assertEqual(parts[:3], ["1", "1", "unix"], line)
        self.assertEqual(parts[4], "grpc")
        self.assertTrue(parts[3].startswith(os.path.join(self.dir, "plugin")), parts[3])
        return parts[3]

    def test_handshake_health_describe_execute_shutdown(self):
        proc = self.start()
        try:
            sock = self.handshake(proc)
            with grpc.insecure_channel("unix:" + sock) as ch:
                check = ch.unary_unary("/grpc.health.v1.Health/Check")
                # HealthCheckRequest{service: "plugin"} -> {status: SERVING}
                self.assertEqual(check(b"\x0a\x06plugin", timeout=10), b"\x08\x01")
                with self.assertRaises(grpc.RpcError) as cm:
                    check(b"\x0a\x05other", timeout=10)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
                stub = plugin_pb2_grpc.TaskPluginStub(ch)
                d = stub.Describe(pb.DescribeRequest(), timeout=10)
                self.assertEqual((d.name, d.version, [t.name for t in d.tasks]), ("shout", "1.0.0", ["shout"]))
                evs = list(stub.Execute(pb.ExecuteRequest(job_id="j", attempt=1, task="shout"), timeout=10))
                self.assertEqual(evs[-1].result.output, ('{"pid":%d}' % proc.pid).encode())
                ch.unary_unary("/plugin.GRPCController/Shutdown")(b"", timeout=10)
            self.assertEqual(proc.wait(10), 0)
            # Everything printed went to stderr; stdout had the handshake only.
            self.assertEqual(proc.stdout.read(), b"")
            err = proc.stderr.read().decode()
            for want in ("printed while loading", "printed by a task", "printed by a command"):
                self.assertIn(want, err)
            self.assertFalse(os.path.exists(sock))
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_exits_3_when_the_lifeline_breaks(self):
        r, w = os.pipe()
        proc = self.start(env={_protocol.LIFELINE_FD_ENV: str(r)}, pass_fds=(r,))
        os.close(r)
        try:
            self.handshake(proc)
            os.close(w)
            w = None
            self.assertEqual(proc.wait(10), _protocol.LIFELINE_EXIT_CODE)
            self.assertIn("the host is gone (lifeline: EOF); exiting", proc.stderr.read().decode())
        finally:
            if w is not None:
                os.close(w)
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_refuses_to_run_by_hand(self):
        proc = self.start(env={_protocol.MAGIC_COOKIE_KEY: ""})
        out, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(out, b"printed while loading\n")  # not hosted: stdout is the user's
        self.assertEqual(err.decode().count("\n"), 1)
        self.assertIn('batchhost task plugin "shout"; a batchhost host runs it', err.decode())


if __name__ == "__main__":
    unittest.main()
