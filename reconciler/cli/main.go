// Package cli is the reconciler's command line: Main, its subcommands (serve, migrate, check,
// regularize, parked, replay, discard, console-user, purge-applied), their flags, the progress display and the CSV report.
// cmd/reconciler's main only calls Main.
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/kelseyhightower/envconfig"
)

const usage = `reconciler applies NubeFacT notifications to the comprobantes table and publishes
boleta.aceptada (and sibling) events.

Usage:
  reconciler [serve]            run the service (migrates first)
  reconciler migrate            apply the database migrations and exit
  reconciler check              tell whether Postgres and NATS answer
  reconciler regularize [flags] ask NubeFacT about pending comprobantes
  reconciler parked [-all]      list notifications waiting for their comprobante
  reconciler replay [-all | MESSAGE_ID...]
                                publish parked notifications again
  reconciler discard -reason TEXT (-older-than DURATION | MESSAGE_ID...)
                                discard parked notifications that will never match (audited)
  reconciler console-user NAME  print a CONSOLE_USERS entry for NAME (password on stdin)
  reconciler purge-applied      make room in the notifications stream: remove what is acknowledged
  reconciler SUBCOMMAND -h      that subcommand's usage
  reconciler -h                 this help

Configuration comes from the environment:

`

const usageFormat = "VARIABLE\tTYPE\tDEFAULT\tREQUIRED\tDESCRIPTION\n" +
	"{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_required .}}\t{{usage_description .}}\n{{end}}"

func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_ = envconfig.Usagef("", &reconciler.Config{}, tw, usageFormat)
	_ = tw.Flush()
}

// subcommand is one verb of the command line. Its flags are parsed before the configuration is
// read or anything is connected, so that `reconciler SUBCOMMAND -h` only prints its usage.
type subcommand struct {
	usage string // what -h prints, above the flags
	// parse declares the flags on fs, parses args and checks them, and returns what to run.
	parse func(fs *flag.FlagSet, args []string) (runner, error)
}

// runner is a subcommand with its flags parsed, ready to run with the configuration.
type runner func(ctx context.Context, cfg reconciler.Config, log *slog.Logger, stdout, stderr io.Writer) error

func subcommands() map[string]subcommand {
	return map[string]subcommand{
		"serve": {serveUsage, withoutArguments(func(ctx context.Context, cfg reconciler.Config, log *slog.Logger, _, _ io.Writer) error {
			return reconciler.Run(ctx, cfg, log)
		})},
		"migrate": {migrateUsage, withoutArguments(func(ctx context.Context, cfg reconciler.Config, _ *slog.Logger, stdout, _ io.Writer) error {
			return migrateCmd(ctx, cfg, stdout)
		})},
		"check": {checkUsage, withoutArguments(func(ctx context.Context, cfg reconciler.Config, _ *slog.Logger, stdout, _ io.Writer) error {
			return checkCmd(ctx, cfg, stdout)
		})},
		"regularize":    {regularizeUsage, parseRegularize},
		"parked":        {parkedUsage, parseParked},
		"replay":        {replayUsage, parseReplay},
		"discard":       {discardUsage, parseDiscard},
		"console-user":  {consoleUserUsage, parseConsoleUser},
		"purge-applied": {purgeAppliedUsage, parsePurgeApplied},
	}
}

const serveUsage = `Usage: reconciler [serve]

Runs the service: migrates the database, declares the streams and the consumer, applies
notifications, publishes events and answers /healthz and /readyz on RECONCILER_ADDR and
/metrics on METRICS_ADDR, until SIGINT or SIGTERM. ` + "`reconciler -h`" + ` lists the configuration.
`

// withoutArguments is the parse of a subcommand that takes no flag and no argument.
func withoutArguments(run runner) func(*flag.FlagSet, []string) (runner, error) {
	return func(fs *flag.FlagSet, args []string) (runner, error) {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() > 0 {
			return nil, fmt.Errorf("%s takes no arguments, got %q", fs.Name(), fs.Args())
		}
		return run, nil
	}
}

// Main is the whole program: it parses the subcommand and its flags, reads the configuration
// from the environment and runs the subcommand until it ends or SIGINT/SIGTERM arrives.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	run, err := parse(args[1:], stdout, stderr)
	if run == nil {
		return err
	}
	var cfg reconciler.Config
	if err := envconfig.Process("", &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills at once (default behaviour restored).
	go func() { <-ctx.Done(); stop() }()
	return run(ctx, cfg, logger(cfg, stderr), stdout, stderr)
}

// Ejecutar runs `reconciler args...` with cfg as its configuration instead of the
// environment's, and without installing signal handlers: for programs and tests that run the
// command line in-process.
func Ejecutar(ctx context.Context, cfg reconciler.Config, args []string, stdout, stderr io.Writer) error {
	run, err := parse(args, stdout, stderr)
	if run == nil {
		return err
	}
	return run(ctx, cfg, logger(cfg, stderr), stdout, stderr)
}

func logger(cfg reconciler.Config, stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "reconciler")
}

// parse finds the subcommand of args (serve when there is none) and parses its flags. It returns
// no runner when there is nothing to run: help was printed (nil error) or args are wrong.
func parse(args []string, stdout, stderr io.Writer) (runner, error) {
	name, rest := "serve", args
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	sub, ok := subcommands()[name]
	switch {
	case name == "-h" || name == "-help" || name == "--help" || name == "help":
		printUsage(stdout)
		return nil, nil
	case !ok:
		printUsage(stderr)
		return nil, fmt.Errorf("unknown command %q", name)
	}
	// The flag package writes its complaint and the usage to the flag set's output: they go to
	// stdout when asked for with -h, to stderr after a mistake.
	var help bytes.Buffer
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&help)
	fs.Usage = func() { fmt.Fprint(fs.Output(), sub.usage); fs.PrintDefaults() }
	run, err := sub.parse(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = help.WriteTo(stdout)
		return nil, nil
	}
	_, _ = help.WriteTo(stderr)
	if err != nil {
		return nil, err
	}
	return run, nil
}
