package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The standard OpenTelemetry variables serve reads itself; the exporter
// and the SDK read the others (headers, timeout, certificates,
// compression, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, the batch
// span processor's OTEL_BSP_*).
const (
	otelEndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	otelTracesEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	otelProtocolEnv       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	otelTracesProtocolEnv = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	otelTracesExporterEnv = "OTEL_TRACES_EXPORTER"
)

// tracingShutdownTimeout bounds the flush of the spans left at exit.
const tracingShutdownTimeout = 5 * time.Second

// tracing is the OTLP exporter serve installed, if the environment asked
// for one.
type tracing struct {
	tp       *sdktrace.TracerProvider
	endpoint string
}

// otlpTracing makes the tracer provider of an OTLP exporter over gRPC
// when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT
// is set and OTEL_TRACES_EXPORTER is not "none"; nil otherwise (tracing
// is off by default). A value it cannot use is a usage error naming the
// variable. The exporter connects lazily: a collector that is down costs
// dropped spans, never a refused start.
func (c *cli) otlpTracing(ctx context.Context) (*tracing, error) {
	switch exp := c.getenv(otelTracesExporterEnv); exp {
	case "", "otlp":
	case "none":
		return nil, nil
	default:
		return nil, usageErrorf("invalid %s=%q: batchhost exports traces only with otlp (or none, to turn them off)", otelTracesExporterEnv, exp)
	}
	name, endpoint := otelTracesEndpointEnv, c.getenv(otelTracesEndpointEnv)
	if endpoint == "" {
		name, endpoint = otelEndpointEnv, c.getenv(otelEndpointEnv)
	}
	if endpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("invalid %s=%q: want the collector's OTLP gRPC address as http://HOST:PORT (plain text) or https://HOST:PORT (TLS)", name, endpoint)
	}
	for _, v := range []string{otelTracesProtocolEnv, otelProtocolEnv} {
		if p := c.getenv(v); p != "" && p != "grpc" {
			return nil, usageErrorf("invalid %s=%q: batchhost exports traces over OTLP gRPC only (grpc)", v, p)
		}
		if c.getenv(v) != "" {
			break // the traces' own variable wins
		}
	}
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// batchhost's name and version, unless the environment names the
	// service (OTEL_SERVICE_NAME, or service.name in
	// OTEL_RESOURCE_ATTRIBUTES: the SDK reads both, the first winning).
	attrs := []attribute.KeyValue{attribute.String("service.name", "batchhost"), attribute.String("service.version", buildVersion())}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		res = resource.NewSchemaless(attrs...) // a malformed OTEL_RESOURCE_ATTRIBUTES is skipped
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &tracing{tp: tp, endpoint: u.Redacted()}, nil
}

// shutdown flushes the spans not yet exported and stops the exporter.
func (t *tracing) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
	defer cancel()
	return t.tp.Shutdown(ctx)
}
