// Package contracts holds everything that crosses a wire in the boletas pipeline: the
// notification NubeFacT sends (and Operation 2 answers with), its validation and the
// classification of its outcome, the message-ID rule, the NATS subject and stream names, and
// the CloudEvents envelope of the events the reconciler publishes for other services.
//
// The module holds, besides, the plumbing both services share, in its subpackages: httpapi
// (how an HTTP listener is served, problem documents, the profiler), retry (the backoff) and
// natsconn (connecting to NATS: the identity, TLS, pings, reconnection and drain).
//
// This package depends on the standard library only, so any Go service can import it.
package contracts
