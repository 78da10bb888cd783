package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/stream"
)

const purgeAppliedUsage = `Usage: reconciler purge-applied

Removes from the notifications stream every notification the reconcilers have acknowledged
(up to the ack floor of the consumer CONSUMER_NAME): they are in Postgres already, applied,
parked, recorded or dead-lettered. Nothing not yet acknowledged is touched. The stream keeps
acknowledged notifications until STREAM_MAX_AGE; this makes room in a full stream now (see
docs/operations.md, "A full notifications stream"). It prints what it removed.
`

func parsePurgeApplied(fs *flag.FlagSet, args []string) (runner, error) {
	return withoutArguments(func(ctx context.Context, cfg reconciler.Config, _ *slog.Logger, stdout, _ io.Writer) error {
		return purgeAppliedCmd(ctx, cfg, stdout)
	})(fs, args)
}

func purgeAppliedCmd(ctx context.Context, cfg reconciler.Config, stdout io.Writer) error {
	nc, js, err := connectOnce(cfg, "reconciler-purge-applied")
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := stream.PurgeApplied(ctx, js, contracts.Topologia{Prefijo: cfg.NATSPrefix}, cfg.Consumer)
	if err != nil {
		return err
	}
	if p.Purged() == 0 {
		fmt.Fprintf(stdout, "nothing to purge: %s holds no acknowledged notification (ack floor %d, first sequence %d)\n",
			p.Stream, p.AckFloor, p.Before.FirstSeq)
	} else {
		fmt.Fprintf(stdout, "purged %d acknowledged notification(s) from %s, sequences %d to %d, %s freed\n",
			p.Purged(), p.Stream, p.Before.FirstSeq, p.AckFloor, bytesText(int64(p.Before.Bytes)-int64(p.After.Bytes)))
	}
	limit := "no limit"
	if p.MaxBytes > 0 {
		limit = fmt.Sprintf("%s of %s (%.0f%%)", bytesText(int64(p.After.Bytes)), bytesText(p.MaxBytes), 100*float64(p.After.Bytes)/float64(p.MaxBytes))
	}
	fmt.Fprintf(stdout, "%s now holds %d notification(s) above the ack floor: %s\n", p.Stream, p.After.Msgs, limit)
	return nil
}

// bytesText writes n in KiB, MiB or GiB.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
