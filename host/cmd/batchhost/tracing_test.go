package main

import (
	"context"
	"net"

	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// otlpReceiver is an OTLP gRPC collector in the test's process: it keeps
// every span it is sent, with its resource's service name.
type otlpReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	service string
	span    *tracepb.Span
}

func (r *otlpReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, receivedSpan{service, s})
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (r *otlpReceiver) named(name string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.span.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// The daemon exports its spans to the collector OTEL_EXPORTER_OTLP_ENDPOINT
// names, under OTEL_SERVICE_NAME: a job's submit span and its attempt's
// span, one trace. The batch processor is told to wait a minute between
// exports, so the spans arrive only through the flush at exit.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &otlpReceiver{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, rcv)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	sock := filepath.Join(shortDir(t), "bh.sock")
	env := []string{"BATCHHOST_DATA_DIR=" + t.TempDir(), "BATCHHOST_SOCKET=" + sock, "BATCHHOST_PLUGIN_DIR=",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + l.Addr().String(), "OTEL_SERVICE_NAME=bh-trace-test",
		"OTEL_BSP_SCHEDULE_DELAY=60000"}
	p := startServe(t, env)
	r := runCLI(t, map[string]string{"BATCHHOST_SOCKET": sock}, "", "submit", "chaos.noop", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "completed") {
		t.Fatalf("submit --wait: %+v\n%s", r, p.log.String())
	}
	jid := strings.Fields(r.stdout)[0]
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range p.lines {
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, p.log.String())
	}
	if !strings.Contains(p.log.String(), "tracing") {
		t.Errorf("serve did not log that it traces:\n%s", p.log.String())
	}

	subs, atts := rcv.named("batchhost.submit"), rcv.named("batchhost.attempt")
	if len(subs) != 1 || len(atts) != 1 {
		t.Fatalf("collector got %d submit and %d attempt spans, want 1 and 1", len(subs), len(atts))
	}
	sub, att := subs[0], atts[0]
	if sub.service != "bh-trace-test" || att.service != "bh-trace-test" {
		t.Errorf("service names %q and %q, want OTEL_SERVICE_NAME's bh-trace-test", sub.service, att.service)
	}
	if !slices.Equal(att.span.GetTraceId(), sub.span.GetTraceId()) || !slices.Equal(att.span.GetParentSpanId(), sub.span.GetSpanId()) {
		t.Errorf("attempt span (trace %x, parent %x) is not the submit span's child (trace %x, span %x)",
			att.span.GetTraceId(), att.span.GetParentSpanId(), sub.span.GetTraceId(), sub.span.GetSpanId())
	}
	var job string
	for _, kv := range att.span.GetAttributes() {
		if kv.GetKey() == "batchhost.job.id" {
			job = kv.GetValue().GetStringValue()
		}
	}
	if job != jid {
		t.Errorf("attempt span of job %q, want %s", job, jid)
	}
}

// otlpTracing installs an exporter only when an endpoint is set and
// OTEL_TRACES_EXPORTER does not say none.
func TestOTLPTracingIsOffByDefault(t *testing.T) {
	for _, tc := range []struct {
		env map[string]string
		on  bool
	}{
		{nil, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", otelEndpointEnv: "http://127.0.0.1:4317"}, false},
		{map[string]string{otelEndpointEnv: "http://127.0.0.1:4317"}, true},
		{map[string]string{otelTracesEndpointEnv: "https://127.0.0.1:4317", "OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{otelTracesEndpointEnv: "http://127.0.0.1:4317", otelTracesProtocolEnv: "grpc", otelProtocolEnv: "http/protobuf"}, true},
	} {
		c := &cli{getenv: func(k string) string { return tc.env[k] }}
		tr, err := c.otlpTracing(context.Background())
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if (tr != nil) != tc.on {
			t.Errorf("%v: tracing on %v, want %v", tc.env, tr != nil, tc.on)
		}
		if tr != nil {
			if err := tr.shutdown(); err != nil {
				t.Errorf("%v: shutdown with no spans: %v", tc.env, err)
			}
		}
	}
}
