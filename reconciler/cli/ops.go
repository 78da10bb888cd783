package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/reenvio"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const migrateUsage = `Usage: reconciler migrate

Applies the database migrations to DATABASE_URL and exits. ` + "`reconciler serve`" + ` does it too, on start.
`

func migrateCmd(ctx context.Context, cfg reconciler.Config, stdout io.Writer) error {
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, f := range applied {
		fmt.Fprintln(stdout, "applied", f)
	}
	return nil
}

const parkedUsage = `Usage: reconciler parked [-all] [-after CURSOR] [-limit N]

Lists the notifications waiting in DATABASE_URL because their comprobante is not in the table,
oldest first, a page at a time: how long each has waited, and the MESSAGE_ID that
` + "`reconciler replay`" + ` and ` + "`reconciler discard`" + ` take. When there are more, the
last line gives the command for the next page (-after). Each is applied within PARKED_INTERVAL
of its comprobante's INSERT, or discarded (and the discard audited) after PARKED_MAX_AGE.

Flags:
`

func parseParked(fs *flag.FlagSet, args []string) (runner, error) {
	all := fs.Bool("all", false, "include notifications already replayed")
	after := fs.String("after", "", "start after this cursor (the previous page's last line gives it)")
	limit := fs.Int("limit", estado.TamanoPagina, "notifications per page (at most 10000)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("parked: unexpected arguments %q", fs.Args())
	}
	if *limit < 1 || *limit > 10000 {
		return nil, fmt.Errorf("parked: -limit must be between 1 and 10000")
	}
	p := estado.PaginaAparcadas{Todas: *all, Limit: *limit}
	if *after != "" {
		var err error
		if p.Despues, err = estado.ParseCursorAparcada(*after); err != nil {
			return nil, fmt.Errorf("parked: -after: %w", err)
		}
	}
	return func(ctx context.Context, cfg reconciler.Config, _ *slog.Logger, stdout, _ io.Writer) error {
		return parkedCmd(ctx, cfg, p, stdout)
	}, nil
}

// parkedCmd lists a page of the parked notifications.
func parkedCmd(ctx context.Context, cfg reconciler.Config, p estado.PaginaAparcadas, stdout io.Writer) error {
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool)
	list, err := store.Aparcadas(ctx, p)
	if err != nil {
		return err
	}
	total, err := store.ContarAparcadas(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE_ID\tCOMPROBANTE\tORIGEN\tRECIBIDA\tPARKED\tWAITING\tREADY\tTIMES\tREPLAYED")
	now := time.Now()
	for _, a := range list {
		replayed := "-"
		if a.ReenviadaEn != nil {
			replayed = a.ReenviadaEn.Format(time.RFC3339)
		}
		ready := "no"
		if a.Lista {
			ready = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.MessageID, a.Clave(), a.Origen,
			a.RecibidoEn.Format(time.RFC3339), a.AparcadaEn.Format(time.RFC3339), esperado(now.Sub(a.AparcadaEn)),
			ready, a.Veces, replayed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d parked notification(s) waiting for their comprobante (PARKED_MAX %d); each is applied within PARKED_INTERVAL of its INSERT, or discarded after PARKED_MAX_AGE (%s)\n",
		total, cfg.ParkedMax, cfg.ParkedMaxAge)
	if len(list) == p.Limit {
		todas := ""
		if p.Todas {
			todas = "-all "
		}
		fmt.Fprintf(stdout, "next page: reconciler parked %s-limit %d -after %s\n", todas, p.Limit, list[len(list)-1].Cursor())
	}
	return nil
}

// esperado renders how long a notification has waited: "3d4h", "2h15m", "42s".
func esperado(d time.Duration) string {
	switch d = d.Round(time.Second); {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return d.String()
}

const discardUsage = `Usage: reconciler discard -reason TEXT (-older-than DURATION | MESSAGE_ID...)

Discards parked notifications that will never match a comprobante (emitted from NubeFacT's
panel or by another system): those named, or every one that has waited longer than
-older-than (all of them, 1,000 per transaction). It lists each and prints how many. Each discard is recorded in the audit (efecto descartado) with who asked and why;
the audit keeps the notification's payload.

Flags:
`

func parseDiscard(fs *flag.FlagSet, args []string) (runner, error) {
	reason := fs.String("reason", "", "why they will never match (recorded in the audit; required)")
	olderThan := fs.Duration("older-than", 0, "discard every parked notification that has waited longer than this (e.g. 720h)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	ids := fs.Args()
	if (*olderThan > 0) == (len(ids) > 0) {
		return nil, fmt.Errorf("discard: give either -older-than DURATION or one or more MESSAGE_IDs (see `reconciler parked`)")
	}
	if strings.TrimSpace(*reason) == "" {
		return nil, fmt.Errorf("discard: -reason is required: the audit records why")
	}
	return func(ctx context.Context, cfg reconciler.Config, _ *slog.Logger, stdout, _ io.Writer) error {
		return discardCmd(ctx, cfg, *reason, *olderThan, ids, stdout)
	}, nil
}

// discardCmd removes the parked notifications named by ids, or those older than olderThan, and
// records each discard in the audit with who asked and why.
func discardCmd(ctx context.Context, cfg reconciler.Config, reason string, olderThan time.Duration, ids []string, stdout io.Writer) error {
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool)
	motivo := fmt.Sprintf("descartada por %s: %s", operador(), reason)
	var n int
	report := func(done []estado.Aparcada) {
		for _, a := range done {
			fmt.Fprintln(stdout, "discarded", a.MessageID, a.Clave())
		}
		n += len(done)
	}
	if olderThan > 0 {
		// A batch (one transaction) at a time, until a batch comes back short: memory holds one
		// batch, and each committed batch stays discarded should a later one fail.
		for {
			done, err := store.DescartarAntiguas(ctx, olderThan, motivo)
			report(done)
			if err != nil {
				return fmt.Errorf("discard: %w (%d discarded before the error)", err, n)
			}
			if len(done) < estado.DescartesPorLlamada {
				break
			}
		}
	} else {
		done, err := store.Descartar(ctx, ids, motivo)
		if err != nil {
			return err
		}
		report(done)
	}
	fmt.Fprintf(stdout, "%d notification(s) discarded (recorded in the audit as descartado)\n", n)
	if len(ids) > 0 && n < len(ids) {
		return fmt.Errorf("discard: %d of the %d message IDs are not parked", len(ids)-n, len(ids))
	}
	return nil
}

// operador names who runs a command, for the audit.
func operador() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "desconocido"
}

const replayUsage = `Usage: reconciler replay [-all | MESSAGE_ID...]

Publishes parked notifications (` + "`reconciler parked`" + ` lists them) to NATS_URL again, once
their comprobantes exist: every one not replayed yet with -all (read and replayed a page of 100
at a time), or those named.

Flags:
`

func parseReplay(fs *flag.FlagSet, args []string) (runner, error) {
	all := fs.Bool("all", false, "replay every parked notification not replayed yet")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	ids := fs.Args()
	if *all == (len(ids) > 0) {
		return nil, fmt.Errorf("replay: give either -all or one or more MESSAGE_IDs (see `reconciler parked`)")
	}
	return func(ctx context.Context, cfg reconciler.Config, log *slog.Logger, stdout, _ io.Writer) error {
		return replayCmd(ctx, cfg, ids, log, stdout)
	}, nil
}

// replayCmd publishes parked notifications to the notifications subject again: those named by
// ids, or with none every one not replayed yet. They keep their payload, so the reconciler
// computes the same message ID; the Nats-Msg-Id gets a suffix so that JetStream's duplicate
// window does not swallow a replay of a recent one.
func replayCmd(ctx context.Context, cfg reconciler.Config, ids []string, log *slog.Logger, stdout io.Writer) error {
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	nc, js, err := connectOnce(cfg, "reconciler-replay", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	publish := func(ctx context.Context, m contracts.Mensaje) error { return stream.Publish(ctx, js, m) }
	n, err := reenvio.Reenviar(ctx, postgres.New(pool), publish, contracts.Topologia{Prefijo: cfg.NATSPrefix}, ids,
		func(page []estado.Aparcada) {
			for _, a := range page {
				fmt.Fprintln(stdout, "replayed", a.MessageID)
			}
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d notification(s) replayed\n", n)
	return nil
}

const checkUsage = `Usage: reconciler check

Tells whether PostgreSQL (DATABASE_URL) and NATS (NATS_URL) answer, and exits 1 when one does
not. ` + "`make run`" + ` calls it before starting the services.
`

// checkCmd tells whether Postgres and NATS answer at the configured addresses, naming what is
// missing. `make run` calls it before starting the services.
func checkCmd(ctx context.Context, cfg reconciler.Config, stdout io.Writer) error {
	var missing []string
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
		pool.Close()
	}
	if err != nil {
		fmt.Fprintf(stdout, "postgres  MISSING  DATABASE_URL does not answer: %v\n", err)
		missing = append(missing, "PostgreSQL (DATABASE_URL)")
	} else {
		fmt.Fprintln(stdout, "postgres  ok")
	}
	// As the identity the other commands use, so that bad credentials show here too.
	nc, err := natsconn.ConnectOnce(cfg.NATSURL, cfg.Config, "reconciler-check", "ops", slog.New(slog.DiscardHandler), nats.Timeout(3*time.Second))
	if err == nil {
		_, err = nc.RTT()
		nc.Close()
	}
	if err != nil {
		fmt.Fprintf(stdout, "nats      MISSING  %v (%s)\n", err, redactURL(cfg.NATSURL))
		missing = append(missing, "NATS (NATS_URL)")
	} else {
		fmt.Fprintln(stdout, "nats      ok")
	}
	if len(missing) > 0 {
		return fmt.Errorf("not reachable: %s; start them (see README, \"Run it\") or point the variables at them", strings.Join(missing, " and "))
	}
	return nil
}

// connectOnce connects the one-shot commands (replay, regularize) to NATS: no reconnect
// loop, a failure is reported at once. Their replies come on the ops inbox prefix, which the
// ops identity and the reconciler's may read (deploy/nats/permissions.conf).
func connectOnce(cfg reconciler.Config, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := natsconn.ConnectOnce(cfg.NATSURL, cfg.Config, name, "ops", log)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// redactURL hides the password of a URL (nats://user:pass@host) for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
