package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/cli"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestE2EFullStreamRecovery: a leaked token floods a notifications stream of 1 MiB (the least
// STREAM_MAX_BYTES allows) with 60 KiB webhooks for comprobantes nobody issued, each parked by
// the reconciler, until every webhook gets 503. The gauges show it full; the recovery of
// docs/operations.md, `reconciler purge-applied`, empties what is acknowledged; genuine
// webhooks are answered 200 again and applied, and nothing acknowledged before is lost.
func TestE2EFullStreamRecovery(t *testing.T) {
	t.Parallel()
	// A 2.15 server of its own, as TestE2EStreamFullAnswers503: 2.9 may evict the oldest message
	// of a full stream instead of refusing the new one (docs/durability.md).
	s := newPipeline(t, pipelineOptions{ownNATS: true, prepare: func(p *pipeline) { p.cfg.StreamMaxBytes = 1 << 20 }})
	for numero := 1; numero <= 6; numero++ {
		s.insertPendiente(2, "BBB1", numero)
	}

	// Genuine acceptances before the flood.
	for numero := 1; numero <= 3; numero++ {
		if code, _ := s.post(aceptada("BBB1", numero)); code != http.StatusOK {
			t.Fatalf("webhook BBB1-%d before the flood: status %d, want 200", numero, code)
		}
	}

	// The flood: 60 KiB each, in a known field (the unknown keys' budget refuses the rest),
	// then, when those no longer fit, the least a notification can be, until that is refused
	// too: the stream is full for any webhook.
	zip := strings.Repeat("UEsDBBQ=", 60<<10/8)
	stored, numero := 0, 0
	for _, padding := range []string{`,"pdf_zip_base64":"` + zip + `"`, ""} {
		for refused := false; !refused; {
			numero++
			if numero > 2000 {
				t.Fatalf("the 1 MiB stream took %d webhooks without refusing one", stored)
			}
			body := fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BZZZ","numero":%d%s}`, numero, padding)
			switch code, h := s.post(body); code {
			case http.StatusOK:
				stored++
			case http.StatusServiceUnavailable:
				if h.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				refused = true
			default:
				t.Fatalf("flood webhook %d: status %d", numero, code)
			}
		}
		if padding != "" && stored < 10 {
			t.Fatalf("only %d webhooks of 60 KiB stored before the first 503: is STREAM_MAX_BYTES 1 MiB?", stored)
		}
	}
	// Full: a genuine acceptance is refused too (NubeFacT would retry it).
	if code, _ := s.post(aceptada("BBB1", 4)); code != http.StatusServiceUnavailable {
		t.Fatalf("genuine webhook into the full stream: status %d, want 503", code)
	}

	// What the alert StreamCasiLleno reads: bytes over 80% of max bytes.
	stream := s.topo.StreamNotificaciones()
	testkit.Eventually(t, 20*time.Second, "the stream gauges show it over 80% full", func() bool {
		m := testkit.Scrape(t, s.reconciler+"/metrics")
		used, ok1 := m.Value("reconciler_stream_bytes", map[string]string{"stream": stream})
		limit, ok2 := m.Value("reconciler_stream_max_bytes", map[string]string{"stream": stream})
		return ok1 && ok2 && limit == 1<<20 && used > 0.8*limit
	})

	// Every flood webhook stored was parked, every genuine one applied: all acknowledged.
	s.waitNoAckPending()
	if n := s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BZZZ'`); n != stored {
		t.Fatalf("%d flood notifications parked, want the %d stored", n, stored)
	}

	// The recovery step, as docs/operations.md gives it.
	var out, errOut bytes.Buffer
	if err := cli.Ejecutar(context.Background(), s.cfg, []string{"purge-applied"}, &out, &errOut); err != nil {
		t.Fatalf("purge-applied: %v\n%s", err, errOut.String())
	}
	t.Logf("purge-applied:\n%s", out.String())
	if want := fmt.Sprintf("purged %d acknowledged notification(s)", 3+stored); !strings.Contains(out.String(), want) {
		t.Errorf("purge-applied said:\n%s\nwant %q", out.String(), want)
	}

	// Genuine webhooks are stored again: BBB1-4 (NubeFacT's retry of the refused one) and two more.
	for numero := 4; numero <= 6; numero++ {
		if code, _ := s.post(aceptada("BBB1", numero)); code != http.StatusOK {
			t.Fatalf("webhook BBB1-%d after the purge: status %d, want 200", numero, code)
		}
	}
	testkit.Eventually(t, 20*time.Second, "BBB1-1 to 6 aceptado", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE serie = 'BBB1' AND estado = 'aceptado'`) == 6
	})
	// Nothing acknowledged before the purge is lost: the audit and the parked table hold it all.
	if n := s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BZZZ'`); n != stored {
		t.Errorf("%d flood notifications parked after the purge, want %d", n, stored)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BBB1' AND efecto = 'aplicado'`); n != 6 {
		t.Errorf("%d genuine notifications applied in the audit, want 6", n)
	}
}
