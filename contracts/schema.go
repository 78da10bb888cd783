package contracts

import _ "embed"

// EsquemaEventoJSON is the JSON Schema (draft 2020-12) of Evento version 1, whose $id is
// EsquemaEventoV1. It is embedded so that a subscriber, or a test, validates events against the
// very schema this package publishes instead of a copy.
//
//go:embed schema/comprobante-evento.v1.schema.json
var EsquemaEventoJSON []byte
