package nubefact

import (
	"errors"
	"fmt"
)

// Error is NubeFacT's own error answer: {"errors": "...", "codigo": N}.
type Error struct {
	Codigo     int
	Mensaje    string
	HTTPStatus int
}

func (e *Error) Error() string {
	return fmt.Sprintf("NubeFacT codigo %d (%s): %s", e.Codigo, descripcion(e.Codigo), e.Mensaje)
}

// TransportError is a failure to get an answer at all: timeout, connection, HTTP 5xx.
type TransportError struct {
	Err    error
	Status int
}

// Fatal, NoExiste and QueHacer let a caller classify e by behaviour, without importing this
// package (regularizacion does): see the functions of the same names.
func (e *Error) Fatal() bool              { return Fatal(e) }
func (e *Error) NoExiste() bool           { return NoExiste(e) }
func (e *Error) QueHacer() string         { return QueHacer(e) }
func (e *RedirectError) Fatal() bool      { return true }
func (e *RedirectError) QueHacer() string { return QueHacer(e) }

// Transporte tells regularizacion, by behaviour, that NubeFacT gave no answer.
func (e *TransportError) Transporte() bool { return true }

func (e *TransportError) Error() string { return "calling NubeFacT: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// RedirectError is a 3xx answer. Redirects are never followed: the Authorization header would
// go with them, possibly in clear or to another host. Destino is the target's scheme and host,
// empty when the answer had no usable Location.
type RedirectError struct {
	Status  int
	Destino string
}

func (e *RedirectError) Error() string {
	if e.Destino == "" {
		return fmt.Sprintf("NUBEFACT_RUTA answered HTTP %d, a redirect without a usable Location (not followed)", e.Status)
	}
	return fmt.Sprintf("NUBEFACT_RUTA answered HTTP %d, a redirect to %s (not followed)", e.Status, e.Destino)
}

// Retryable reports whether err may pass by retrying: codigo 40 (unknown internal error), HTTP
// 5xx, timeouts and connection errors.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Codigo == 40
	}
	var t *TransportError
	return errors.As(err, &t)
}

// Fatal reports whether err concerns the account or our configuration rather than one boleta,
// so that every further call would fail the same way: wrong token (10), wrong RUTA (11), a
// malformed request (12), a suspended account (50, 51), a redirect (the RUTA points elsewhere).
// A batch stops at once on these.
func Fatal(err error) bool {
	var r *RedirectError
	if errors.As(err, &r) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Codigo {
	case 10, 11, 12, 50, 51:
		return true
	case 0:
		// No codigo: not NubeFacT's API speaking (a wrong host, a proxy). Every call would fail.
		return e.HTTPStatus == 401 || e.HTTPStatus == 403 || e.HTTPStatus == 404
	}
	return false
}

// NoExiste reports whether NubeFacT does not know the comprobante (codigo 24): it was never
// sent, which the accountant must see.
func NoExiste(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Codigo == 24
}

// ResultadoDe names the outcome of a call for metrics: ok, no_existe (codigo 24), fatal (see
// Fatal), transporte (no answer, HTTP 5xx, after the retries) or error (any other codigo).
func ResultadoDe(err error) string {
	var t *TransportError
	switch {
	case err == nil:
		return "ok"
	case NoExiste(err):
		return "no_existe"
	case Fatal(err):
		return "fatal"
	case errors.As(err, &t):
		return "transporte"
	}
	return "error"
}

// QueHacer says, for a fatal error, what an operator must fix.
func QueHacer(err error) string {
	var r *RedirectError
	if errors.As(err, &r) {
		return "check NUBEFACT_RUTA: copy it from NubeFacT's \"API (Integración)\" page (a redirect is never followed: the token would go with it)"
	}
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	switch e.Codigo {
	case 0:
		return fmt.Sprintf("the server at NUBEFACT_RUTA answered HTTP %d without a NubeFacT codigo: check NUBEFACT_RUTA", e.HTTPStatus)
	case 10:
		return "NUBEFACT_TOKEN is wrong or was deleted: copy the token from NubeFacT's \"API (Integración)\" page"
	case 11:
		return "NUBEFACT_RUTA is wrong or does not exist: copy the RUTA from NubeFacT's \"API (Integración)\" page"
	case 12:
		return "NubeFacT refused our Content-Type: this is a bug in the client, report it"
	case 50:
		return "the NubeFacT account is suspended: contact NubeFacT"
	case 51:
		return "the NubeFacT account is suspended for non-payment: settle the account with NubeFacT"
	}
	return ""
}

func descripcion(codigo int) string {
	switch codigo {
	case 10:
		return "token wrong or deleted"
	case 11:
		return "RUTA wrong or does not exist"
	case 12:
		return "missing or wrong Content-Type"
	case 20:
		return "body does not match the format"
	case 21:
		return "operation could not be completed"
	case 22:
		return "sent outside the permitted deadline"
	case 23:
		return "document already exists"
	case 24:
		return "document does not exist in NubeFacT"
	case 40:
		return "unknown internal error"
	case 50:
		return "account suspended"
	case 51:
		return "account suspended for non-payment"
	}
	return "unknown codigo"
}
