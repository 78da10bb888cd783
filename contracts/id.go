package contracts

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// MessageID is the one rule that names a notification on the stream (its Nats-Msg-Id) and in
// the reconciler's inbox: the comprobante's key, its outcome and a digest of what it would
// store: its codigo_hash and its links and texts (enlace, PDF, XML, CDR, sunat_description,
// sunat_note; null and "" alike). A retry of the same notification, or a regularization that
// reports exactly the same, gets the same ID and is a duplicate. Anything else gets another ID
// and is judged by the state machine: a different outcome or hash, and a repeat that brings a
// document the first one lacked (so that it can fill it in) or that differs from it (so that a
// forged one can never take the genuine one's ID). Notifications without a final outcome also
// fold in the response code, so that successive exception codes are all recorded. Every field
// is length-prefixed, so no two different notifications run together into the same digest.
//
// Call it on a validated notification: "2-BBB1-105.aceptado.3f1c0e5b9a7d2e41".
func MessageID(n Notificacion) string {
	r := n.Resultado()
	var arr [512]byte // the fields of a usual notification fit: no allocation to digest them
	b := arr[:0]
	campo := func(s *string) {
		v := deref(s)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	campo(n.CodigoHash)
	if r.Final() {
		campo(nil)
	} else {
		campo(n.SunatResponsecode)
	}
	for _, v := range n.Valores() {
		campo(v)
	}
	sum := sha256.Sum256(b)
	return n.Clave().String() + "." + string(r) + "." + hex.EncodeToString(sum[:8])
}

// EventID names the event published when a comprobante enters estado: "2-BBB1-105.aceptado".
// The state machine enters each final state at most once per comprobante, so the ID is unique
// per state change and the same whichever reconciler, retry or relay publishes it.
func EventID(c Clave, estado Resultado) string {
	return c.String() + "." + string(estado)
}

// EventIDUpdated names the event published when a notification fills in documents of a
// comprobante that stays in estado: "2-BBB1-105.aceptado.completado.enlace_del_cdr". A stored
// link or text is never overwritten, so each field is filled at most once per estado and the
// set of fields filled makes the ID unique.
func EventIDUpdated(c Clave, estado Resultado, completados Campos) string {
	return EventID(c, estado) + ".completado." + strings.Join(completados.Nombres(), "+")
}
