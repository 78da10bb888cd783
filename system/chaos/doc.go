// Package chaos is the fault-injection suite: it runs the real binaries (bin/ingest and two
// bin/reconciler) against a NATS server and a PostgreSQL cluster of its own, breaks them on
// purpose (SIGKILL, stopped servers, poison input) and accounts for every notification.
//
// It is behind the build tag "chaos" so that `make test` stays fast: run it with `make chaos`.
package chaos
