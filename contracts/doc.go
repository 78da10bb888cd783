// Package contracts holds everything that crosses a wire in the boletas pipeline: the
// notification NubeFacT sends (and Operation 2 answers with), its validation and the
// classification of its outcome, the message-ID rule, the NATS subject and stream names, and
// the CloudEvents envelope of the events the reconciler publishes for other services.
//
// It depends on the standard library only, so any Go service can import it.
package contracts
