package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// conDesconocidos is the notification of numero with one unknown member, "x":"aaa…", of exactly
// size bytes as the budget counts them: from the key's opening quote to the end of its value.
func conDesconocidos(numero, size int) []byte {
	return fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BBB1","numero":%d,"aceptada_por_sunat":true,"x":"%s"}`,
		numero, strings.Repeat("a", size-len(`"x":""`)))
}

// TestWebhookUnknownKeysBudget: the unknown keys of a notification may take 4 KiB in all; one
// byte more is a 413 naming the budget, and nothing reaches the stream. The zipped documents
// are known fields, outside the budget.
func TestWebhookUnknownKeysBudget(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)

	wantStored(t, s.post(t, "/webhooks/nubefact", conDesconocidos(1, contracts.MaxUnknown), bearer(tokenA)))
	s.wantMsgs(t, 1)

	r := s.post(t, "/webhooks/nubefact", conDesconocidos(2, contracts.MaxUnknown+1), bearer(tokenA))
	p := wantProblem(t, r, http.StatusRequestEntityTooLarge)
	if p.Type != "urn:hotelpe:boletas:problem:claves-desconocidas" {
		t.Errorf("type = %q, want claves-desconocidas", p.Type)
	}
	var budget struct{ Budget int }
	if err := json.Unmarshal(r.body, &budget); err != nil || budget.Budget != contracts.MaxUnknown {
		t.Errorf("budget member = %d (%v), want %d", budget.Budget, err, contracts.MaxUnknown)
	}
	if !strings.Contains(p.Detail, "4097 bytes") || !strings.Contains(p.Detail, "4096") {
		t.Errorf("detail %q does not say the size and the budget", p.Detail)
	}
	s.wantMsgs(t, 1)

	// 60 KiB of a zipped document: a known field, not counted.
	zip := fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BBB1","numero":3,"aceptada_por_sunat":true,"pdf_zip_base64":"%s"}`,
		strings.Repeat("UEsDBBQ=", 60<<10/8))
	wantStored(t, s.post(t, "/webhooks/nubefact", zip, bearer(tokenA)))
	s.wantMsgs(t, 2)
}
