package contracts

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MessageID is the one rule that names a notification on the stream (its Nats-Msg-Id) and in
// the reconciler's inbox: the comprobante's key, its outcome and a digest of its codigo_hash and
// of which documents it brings. A webhook and a regularization that report the same outcome for
// the same boleta, with the same links and texts present, get the same ID, so whichever arrives
// second is a duplicate; a different outcome or hash gets another ID and is judged by the state
// machine, and so does a repeat that brings a link (the CDR, say) the first one lacked, so that
// it can fill it in. Notifications without a final outcome also fold in the response code, so
// that successive exception codes are all recorded.
//
// Call it on a validated notification: "2-BBB1-105.aceptado.3f1c0e5b9a7d2e41".
func MessageID(n Notificacion) string {
	r := n.Resultado()
	h := sha256.New()
	h.Write([]byte(deref(n.CodigoHash)))
	if !r.Final() {
		h.Write([]byte{0})
		h.Write([]byte(deref(n.SunatResponsecode)))
	}
	if c := n.Campos(); c != 0 {
		h.Write([]byte{1, byte(c)})
	}
	var sum [sha256.Size]byte
	return n.Clave().String() + "." + string(r) + "." + hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// EventID names the event published when a comprobante enters estado: "2-BBB1-105.aceptado".
// The state machine enters each final state at most once per comprobante, so the ID is unique
// per state change and the same whichever reconciler, retry or relay publishes it.
func EventID(c Clave, estado Resultado) string {
	return c.String() + "." + string(estado)
}

// EventIDActualizado names the event published when a notification fills in documents of a
// comprobante that stays in estado: "2-BBB1-105.aceptado.completado.enlace_del_cdr". A stored
// link or text is never overwritten, so each field is filled at most once per estado and the
// set of fields filled makes the ID unique.
func EventIDActualizado(c Clave, estado Resultado, completados Campos) string {
	return EventID(c, estado) + ".completado." + strings.Join(completados.Nombres(), "+")
}
