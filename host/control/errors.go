package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/batchhost/batchhost/host"
)

// ErrNoHost: nothing answers on the control socket (no daemon, or it died).
// The CLI exits 2 on it: the operation was never refused, it never arrived.
var ErrNoHost = errors.New("no host reachable")

// errorDomain is the ErrorInfo domain of batchhost's error reasons.
const errorDomain = "batchhost"

// sentinels maps each host sentinel to its gRPC code and the reason that
// lets a client restore it. The order matters: the first match wins, and
// a *CycleError matches ErrCycle before the broader ErrInvalid.
var sentinels = []struct {
	err    error
	code   codes.Code
	reason string
}{
	{host.ErrNotFound, codes.NotFound, "NOT_FOUND"},
	{host.ErrCycle, codes.InvalidArgument, "CYCLE"},
	{host.ErrUnknownTask, codes.InvalidArgument, "UNKNOWN_TASK"},
	{host.ErrAmbiguous, codes.InvalidArgument, "AMBIGUOUS"},
	{host.ErrInvalid, codes.InvalidArgument, "INVALID"},
	{host.ErrNotCompleted, codes.FailedPrecondition, "NOT_COMPLETED"},
	{host.ErrState, codes.FailedPrecondition, "STATE"},
	{host.ErrQueueFull, codes.ResourceExhausted, "QUEUE_FULL"},
	{host.ErrTooManyWatchers, codes.ResourceExhausted, "TOO_MANY_WATCHERS"},
	{host.ErrClosed, codes.Unavailable, "CLOSED"},
	{host.ErrFailed, codes.Internal, "FAILED"},
	{host.ErrDamaged, codes.DataLoss, "DAMAGED"},
	{host.ErrUnavailable, codes.Unavailable, "UNAVAILABLE"},
	{host.ErrNoSpace, codes.ResourceExhausted, "NO_SPACE"},
}

// toStatus turns a host error into a gRPC status error carrying the host's
// one-line message, the matching code, and the sentinel's reason.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	var info *errdetails.ErrorInfo
	code := codes.Unknown
	var all []string
	for _, s := range sentinels {
		if !errors.Is(err, s.err) {
			continue
		}
		all = append(all, s.reason)
		if info == nil {
			code = s.code
			info = &errdetails.ErrorInfo{Domain: errorDomain, Reason: s.reason, Metadata: map[string]string{}}
		}
	}
	if info == nil {
		return status.Error(codes.Unknown, err.Error())
	}
	// An error can match several sentinels; "is" lists them all so that
	// errors.Is answers on the client as it would in the host.
	info.Metadata["is"] = strings.Join(all, " ")
	var ce *host.CycleError
	if errors.As(err, &ce) {
		info.Metadata["path"] = strings.Join(ce.Path, " ")
	}
	st, derr := status.New(code, err.Error()).WithDetails(info)
	if derr != nil {
		return status.Error(code, err.Error())
	}
	return st.Err()
}

// RemoteError is an error returned by the host through the control API.
// Its message is the host's; errors.Is matches the host sentinel it stands
// for (host.ErrNotFound, host.ErrState, ...), and errors.As finds a
// *host.CycleError for cycles.
type RemoteError struct {
	Code      codes.Code
	Message   string
	sentinels []error
	cycle     *host.CycleError
}

func (e *RemoteError) Error() string { return e.Message }

// Is matches the host sentinel the server reported.
func (e *RemoteError) Is(target error) bool {
	return slices.Contains(e.sentinels, target)
}

// As finds the *host.CycleError of a cycle.
func (e *RemoteError) As(target any) bool {
	if t, ok := target.(**host.CycleError); ok && e.cycle != nil {
		*t = e.cycle
		return true
	}
	return false
}

// GRPCStatus lets status.FromError read the original status.
func (e *RemoteError) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// fromStatus turns an RPC error into what the host would have returned.
// Transport failures become ErrNoHost naming the socket, the caller's own
// deadline or cancel becomes ctx's error, anything else a *RemoteError.
func (c *Client) fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil && (st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled) {
		return ctxErr
	}
	re := &RemoteError{Code: st.Code(), Message: st.Message()}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != errorDomain {
			continue
		}
		reasons := strings.Fields(info.GetMetadata()["is"])
		if len(reasons) == 0 {
			reasons = []string{info.GetReason()}
		}
		for _, s := range sentinels {
			if slices.Contains(reasons, s.reason) {
				re.sentinels = append(re.sentinels, s.err)
			}
		}
		if p := info.GetMetadata()["path"]; p != "" {
			re.cycle = &host.CycleError{Path: strings.Fields(p)}
		}
	}
	if len(re.sentinels) == 0 && st.Code() == codes.Unavailable {
		// No reason: the transport failed, not the host.
		return c.noHost(st.Message())
	}
	if len(re.sentinels) == 0 && st.Code() == codes.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	if m := tooLarge.FindStringSubmatch(st.Message()); len(re.sentinels) == 0 && st.Code() == codes.ResourceExhausted && m != nil {
		re.Message = fmt.Sprintf("the request is %s bytes, over the limit of %s: send fewer jobs per call", m[2], m[3])
	}
	return re
}

// tooLarge matches gRPC's refusal of a message over a size limit, sent or
// received.
var tooLarge = regexp.MustCompile(`(received|trying to send) message larger than max \((\d+) vs\. (\d+)\)`)
