package reconciler

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const migrateUsage = `Usage: reconciler migrate

Applies the database migrations to DATABASE_URL and exits. ` + "`reconciler serve`" + ` does it too, on start.
`

func migrateCmd(ctx context.Context, cfg Config, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
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

const parkedUsage = `Usage: reconciler parked [-all]

Lists the notifications parked in DATABASE_URL because their comprobante was never found, with
the MESSAGE_ID that ` + "`reconciler replay`" + ` takes.

Flags:
`

func parseParked(fs *flag.FlagSet, args []string) (runner, error) {
	all := fs.Bool("all", false, "include notifications already replayed")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("parked: unexpected arguments %q", fs.Args())
	}
	return func(ctx context.Context, cfg Config, _ *slog.Logger, stdout, _ io.Writer) error {
		return parkedCmd(ctx, cfg, *all, stdout)
	}, nil
}

// parkedCmd lists the parked notifications; with all, those already replayed too.
func parkedCmd(ctx context.Context, cfg Config, all bool, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	list, err := postgres.New(pool).Aparcadas(ctx, all)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE_ID\tCOMPROBANTE\tORIGEN\tRECIBIDA\tPARKED\tTIMES\tREPLAYED\tREASON")
	for _, a := range list {
		replayed := "-"
		if a.ReenviadaEn != nil {
			replayed = a.ReenviadaEn.Format(time.RFC3339)
		}
		c := contracts.Clave{TipoDeComprobante: a.TipoDeComprobante, Serie: a.Serie, Numero: a.Numero}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.MessageID, c, a.Origen,
			a.RecibidoEn.Format(time.RFC3339), a.AparcadaEn.Format(time.RFC3339), a.Veces, replayed, a.Motivo)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d parked notification(s)\n", len(list))
	return nil
}

const replayUsage = `Usage: reconciler replay [-all | MESSAGE_ID...]

Publishes parked notifications (` + "`reconciler parked`" + ` lists them) to NATS_URL again, once
their comprobantes exist: every one not replayed yet with -all, or those named.

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
	return func(ctx context.Context, cfg Config, _ *slog.Logger, stdout, _ io.Writer) error {
		return replayCmd(ctx, cfg, ids, stdout)
	}, nil
}

// replayCmd publishes parked notifications to the notifications subject again: those named by
// ids, or with none every one not replayed yet. They keep their payload, so the reconciler
// computes the same message ID; the Nats-Msg-Id gets a suffix so that JetStream's duplicate
// window does not swallow a replay of a recent one.
func replayCmd(ctx context.Context, cfg Config, ids []string, stdout io.Writer) error {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool)
	list, err := store.Aparcadas(ctx, len(ids) > 0)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		list = slices.DeleteFunc(list, func(a postgres.Aparcada) bool { return !slices.Contains(ids, a.MessageID) })
		if len(list) != len(ids) {
			return fmt.Errorf("replay: %d of the %d message IDs are not parked", len(ids)-len(list), len(ids))
		}
	}
	nc, js, err := conectarJetStream(cfg, "reconciler-replay")
	if err != nil {
		return err
	}
	defer nc.Close()
	topo := contracts.Topologia{Prefijo: cfg.NATSPrefix}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, a := range list {
		msg := nats.NewMsg(topo.SubjectNotificaciones())
		msg.Data = []byte(a.Payload)
		msg.Header.Set(contracts.HeaderOrigen, contracts.OrigenReplay)
		msg.Header.Set(contracts.HeaderRecibido, a.RecibidoEn.UTC().Format(time.RFC3339Nano))
		if a.Remitente != nil {
			msg.Header.Set(contracts.HeaderRemitente, *a.Remitente)
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.PublishMsg(pctx, msg, jetstream.WithMsgID(a.MessageID+".replay."+stamp), jetstream.WithExpectStream(topo.StreamNotificaciones()))
		cancel()
		if err != nil {
			return fmt.Errorf("replay %s: %w", a.MessageID, err)
		}
		if err := store.MarcarReenviada(ctx, a.MessageID); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "replayed", a.MessageID)
	}
	fmt.Fprintf(stdout, "%d notification(s) replayed\n", len(list))
	return nil
}

const checkUsage = `Usage: reconciler check

Tells whether PostgreSQL (DATABASE_URL) and NATS (NATS_URL) answer, and exits 1 when one does
not. ` + "`make run`" + ` calls it before starting the services.
`

// checkCmd tells whether Postgres and NATS answer at the configured addresses, naming what is
// missing. `make run` calls it before starting the services.
func checkCmd(ctx context.Context, cfg Config, stdout io.Writer) error {
	var missing []string
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pool, err := openPool(ctx, cfg)
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
	nc, err := nats.Connect(cfg.NATSURL, nats.Timeout(3*time.Second))
	if err == nil {
		_, err = nc.RTT()
		nc.Close()
	}
	if err != nil {
		fmt.Fprintf(stdout, "nats      MISSING  NATS_URL %s does not answer: %v\n", redactURL(cfg.NATSURL), err)
		missing = append(missing, "NATS (NATS_URL)")
	} else {
		fmt.Fprintln(stdout, "nats      ok")
	}
	if len(missing) > 0 {
		return fmt.Errorf("not reachable: %s; start them (see README, \"Run it\") or point the variables at them", strings.Join(missing, " and "))
	}
	return nil
}

// conectarJetStream connects the one-shot commands (replay, regularize) to NATS: no reconnect
// loop, a failure is reported at once.
func conectarJetStream(cfg Config, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(cfg.NATSURL, nats.Name(name))
	if err != nil {
		return nil, nil, fmt.Errorf("NATS_URL: %w", err)
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
