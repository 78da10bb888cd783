package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/retry"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxBody is the largest webhook body accepted: the contract's MaxPayload, which the
// notifications stream is sized for.
const MaxBody = contracts.MaxPayload

// publisher is the part of jetstream.JetStream the webhook needs.
type publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

type webhookDeps struct {
	js         publisher
	decoder    contracts.Decoder // with ENLACE_HOSTS
	topo       contracts.Topologia
	tokens     tokenSet
	limits     tokenLimits // nil: no WEBHOOK_RATE
	timeout    time.Duration
	retryAfter time.Duration
	trustProxy bool
	log        *slog.Logger
	metrics    *metrics
}

// handleWebhook authenticates, validates and publishes one NubeFacT notification. It answers 200
// only once JetStream has stored the message (or recognised it as a duplicate): NubeFacT retries
// anything else, so a 200 is a promise that nothing will be lost.
func handleWebhook(d webhookDeps) http.Handler {
	retryAfter := strconv.Itoa(int(max(d.retryAfter.Round(time.Second)/time.Second, 1)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recibido := time.Now().UTC()
		token := d.tokens.index(presentedToken(r))
		if token < 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nubefact-webhook"`)
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusUnauthorized,
				Detail: "missing or wrong token: send Authorization: Bearer <token> or ?token=<token>"})
			return
		}
		// Only an authenticated request spends its token's budget, before its body is read.
		if wait := d.limits.wait(token, recibido); wait > 0 {
			d.metrics.rateLimited(token)
			if d.log.Enabled(r.Context(), slog.LevelDebug) {
				d.log.Debug("webhook over WEBHOOK_RATE", "token", token+1, "retry_after", wait, "remote", r.RemoteAddr)
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(max((wait+time.Second-1)/time.Second, 1))))
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusTooManyRequests,
				Detail: "this token sent more webhooks than WEBHOOK_RATE allows; retry after Retry-After seconds"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusRequestEntityTooLarge,
					Detail: "the body exceeds " + strconv.Itoa(MaxBody) + " bytes"})
				return
			}
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "could not read the body"})
			return
		}
		n, err := d.decoder.Decode(body)
		if tooLarge, ok := errors.AsType[*contracts.UnknownTooLargeError](err); ok {
			d.log.Warn("webhook rejected: unknown keys over their budget", "size", tooLarge.Size, "budget", tooLarge.Max, "remote", r.RemoteAddr)
			httpapi.WriteProblem(w, httpapi.Problem{Type: problemaClavesDesconocidas, Title: "Unknown keys over budget",
				Status: http.StatusRequestEntityTooLarge, Budget: tooLarge.Max,
				Detail: fmt.Sprintf("the keys this service does not know and their values take %d bytes, over the budget of %d bytes (4 KiB) for them; the known fields, *_zip_base64 included, are not counted", tooLarge.Size, tooLarge.Max)})
			return
		}
		if err != nil {
			p := httpapi.Problem{Type: problemaNotificacionInvalida, Title: "Invalid notification", Status: http.StatusBadRequest, Detail: err.Error()}
			var fe *contracts.FieldError
			if errors.As(err, &fe) {
				p.Field = fe.Field
			}
			d.log.Warn("webhook rejected", "field", p.Field, "reason", err.Error(), "remote", r.RemoteAddr)
			httpapi.WriteProblem(w, p)
			return
		}

		id := contracts.MessageID(n)
		m := d.topo.Mensaje(body, id, contracts.OrigenWebhook, recibido, d.remitente(r))
		ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
		defer cancel()
		start := time.Now()
		ack, retried, err := publish(ctx, d.js, &nats.Msg{Subject: m.Subject, Data: m.Payload, Header: m.Cabeceras},
			jetstream.WithMsgID(m.MsgID), jetstream.WithExpectStream(m.Stream))
		// A duplicate after a retry is most likely our own first attempt, stored after all.
		d.metrics.published(time.Since(start), err == nil && ack.Duplicate && !retried)
		if err != nil {
			d.log.Error("publish failed: answering 503 so NubeFacT retries", "id", id, "err", err)
			w.Header().Set("Retry-After", retryAfter)
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusServiceUnavailable,
				Detail: "the notification could not be stored durably; retry later"})
			return
		}
		if d.log.Enabled(ctx, slog.LevelDebug) {
			d.log.Debug("webhook stored", "id", id, "seq", ack.Sequence, "duplicate", ack.Duplicate)
		}
		httpapi.WriteJSON(w, http.StatusOK, stored{Status: "stored", ID: id, Duplicate: ack.Duplicate})
	})
}

// attemptTimeout bounds one publish attempt: JetStream acknowledges in milliseconds when the
// stream has a leader; during an election a request waits for an answer that will not come.
const attemptTimeout = time.Second

// publish publishes msg and waits for the stream's acknowledgement, retrying what a stream
// leader election or a move to another server causes (no responders, a time-out, a connection
// being re-established) with backoff and jitter, under the same Nats-Msg-Id, until ctx
// (PUBLISH_TIMEOUT) ends. A retried publish that had been stored after all comes back as a
// duplicate: still stored once. Any other error (no such stream, a refused message) is final.
//
// retried says whether more than one attempt was made.
func publish(ctx context.Context, js publisher, msg *nats.Msg, opts ...jetstream.PublishOpt) (_ *jetstream.PubAck, retried bool, _ error) {
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		ack, err := js.PublishMsg(actx, msg, opts...)
		cancel()
		if err == nil || !sinLider(err) || ctx.Err() != nil {
			return ack, attempt > 1, err
		}
		select {
		case <-ctx.Done():
			return nil, true, err
		case <-time.After(retry.Backoff(attempt, 50*time.Millisecond, time.Second)):
		}
	}
}

// duplicateInProcess is JetStream's JSStreamDuplicateMessageConflict: an earlier attempt with the
// same Nats-Msg-Id is being stored right now (its proposal is in the stream's Raft log, after an
// attempt that timed out in an election). Asking again once it is settled gives the answer: a
// duplicate if it was stored.
const duplicateInProcess = 10158

// sinLider reports whether err is what a publish meets while its stream has no leader or its
// connection moves to another server, or while an earlier attempt is still in process: worth
// retrying within PUBLISH_TIMEOUT.
func sinLider(err error) bool {
	if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && apiErr.ErrorCode == duplicateInProcess {
		return true
	}
	for _, e := range []error{nats.ErrNoResponders, jetstream.ErrNoStreamResponse, context.DeadlineExceeded,
		nats.ErrTimeout, nats.ErrDisconnected, nats.ErrReconnectBufExceeded, nats.ErrConnectionReconnecting} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// stored is the body of a 200.
type stored struct {
	Status    string `json:"status"`
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// remitente is the sender's address, as the audit records it. Behind a proxy we run (TRUST_PROXY) it is the
// rightmost X-Forwarded-For entry: the one our proxy appended; the entries to its left come
// from the client and can say anything.
func (d webhookDeps) remitente(r *http.Request) string {
	if d.trustProxy {
		xff := r.Header.Values("X-Forwarded-For")
		if len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
				return ip.String()
			}
		}
	}
	return r.RemoteAddr
}
