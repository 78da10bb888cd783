// Package console is the ops console: server-rendered pages (html/template, embedded, no
// JavaScript needed) over the reconciler's Postgres, for the hotel's ops and its accountant.
// Every request needs HTTP Basic credentials of CONSOLE_USERS; every POST is refused when it
// comes from another site (http.CrossOriginProtection) and is recorded in the acciones table.
// routes.go lists the pages; each has its file.
package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
)

// Health is the pipeline's health as the summary shows it.
type Health struct {
	Postgres    bool
	NATS        bool
	Cola        string // the consumer's backlog (pending + ack-pending), or why it is unknown
	DeadLetters string // messages in the dead-letter stream, or why it is unknown
}

// Options are what the console needs.
type Options struct {
	Store      Store
	Usuarios   *Usuarios
	Login      LoginLimits // CONSOLE_LOGIN_*; zero fields take DefaultLoginLimits
	Umbrales   estado.Umbrales
	Health     func(context.Context) Health
	Programada time.Duration // REGULARIZE_EVERY, 0 when off
	// Regularizar starts a run for filtro in the background on behalf of usuario and returns
	// its record's id; nil when NubeFacT is not configured.
	Regularizar func(ctx context.Context, filtro estado.Filtro, usuario string) (int64, error)
	// DeadLetters reads up to limit dead letters before the sequence before (0: the newest),
	// newest first; nil when there is no dead-letter stream to read.
	DeadLetters func(ctx context.Context, before uint64, limit int) ([]estado.DeadLetter, error)
	// Reenviar publishes the parked notification messageID again (reenvio.Reenviar).
	Reenviar func(ctx context.Context, messageID string) error
	Log      *slog.Logger
	Now      func() time.Time
}

// New returns the console's handler: authentication, cross-origin protection, the pages.
func New(o Options) (http.Handler, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("the console needs a store")
	case o.Usuarios == nil || o.Usuarios.Len() == 0:
		return nil, errors.New("the console needs at least one user in CONSOLE_USERS")
	case o.Log == nil:
		return nil, errors.New("the console needs a logger")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	v, err := newViews(o.Log)
	if err != nil {
		return nil, err
	}
	return routes(o, v, newLogin(o.Usuarios, o.Login, o.Log, o.Now)), nil
}

// porPagina is the page size of the lists.
const porPagina = 100

// conPayloadsPorPagina is the page size of the pages that read payloads (the timeline, the DLQ,
// the conflicts): a page of 25 payloads cut at 8,192 characters (8 to 32 KiB each) is at most
// 800 KiB, whatever an attacker sent. /conflictos reads its payloads whole (for the hash and the
// CDR that arrived), so 25 of them is the most it holds at once.
const conPayloadsPorPagina = 25
