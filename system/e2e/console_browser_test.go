package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/testkit"
)

// browser starts Debian's headless Chromium for tb, with the console's credentials on every
// request; without Chromium the test is skipped with a message, except under CI.
func browser(tb testing.TB, user, password string) context.Context {
	tb.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("chromium is not installed (apt-get install chromium)")
		}
		tb.Skip("chromium is not installed: apt-get install chromium to run the browser test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(cancel)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		tb.Fatalf("chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline, failing tb on error.
func run(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](tb testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitText waits until the page's text contains want, reloading every 500 ms; a read that
// fails while the page navigates (a form's redirect, the run page refreshing itself) is retried.
func waitText(tb testing.TB, ctx context.Context, want string) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var text string
	var err error
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		text, err = chromedp.Run(rctx, chromedp.Text(chromedp.CSS("body")))
		cancel()
		if err == nil && strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the page never said %q (last error %v):\n%s", want, err, text)
		}
		time.Sleep(500 * time.Millisecond)
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = chromedp.Do(rctx, chromedp.Reload())
			cancel()
		}
	}
}

// screenshot saves the page as name.png in SCREENSHOTS_DIR (make screenshots: docs/img), or
// in the test's temporary directory.
func screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	png := get(tb, ctx, "screenshot", chromedp.FullScreenshot(100))
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		dir = tb.TempDir()
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		tb.Errorf("%s is not a PNG", path)
	}
	tb.Logf("screenshot %s", path)
}

// The console in a real Chromium, against the real services and the NubeFacT simulator: log in,
// see a boleta in critico, regularize it and watch the run end and the boleta become aceptado,
// open its timeline, mark a conflict reviewed, replay a waiting notification once its
// comprobante exists.
func TestConsoleInChromium(t *testing.T) {
	t.Parallel()
	const user, password = "ana", "clave-de-prueba-123"
	ctx := browser(t, user, password)
	par, err := console.Par(user, password)
	if err != nil {
		t.Fatal(err)
	}
	s := newPipeline(t, pipelineOptions{simulador: true, prepare: func(p *pipeline) {
		var err error
		if p.cfg.ConsoleAddr, err = freeport.Candidate(); err != nil {
			t.Fatal(err)
		}
		// Parked notifications are applied only on this tick: the replay below is what applies one.
		p.cfg.ConsoleUsers, p.cfg.MaxConns, p.cfg.ParkedInterval = par, 8, time.Hour
	}})
	base := "http://" + s.cfg.ConsoleAddr

	s.insertEmitida("BCON", 1, 6) // critico; its webhook was lost, NubeFacT has it accepted
	s.sim.Poner(clave("BCON", 1), simulador.Aceptada)
	s.insertEmitida("BCON", 2, 0)
	if code, _ := s.post(aceptada("BCON", 2)); code != http.StatusOK {
		t.Fatalf("webhook: %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "BCON-2 aceptado", func() bool { return s.estado("BCON", 2) == "aceptado" })
	otro := bytes.Replace(aceptada("BCON", 2), []byte("hash-BCON-2="), []byte("otro-hash="), 1)
	if code, _ := s.post(otro); code != http.StatusOK { // a contradicting notification: a conflict
		t.Fatalf("webhook: %d", code)
	}
	if code, _ := s.post(aceptada("BCON", 3)); code != http.StatusOK { // for a comprobante not yet inserted
		t.Fatalf("webhook: %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "a conflict and a parked notification", func() bool {
		return s.count(`SELECT count(*) FROM notificaciones WHERE efecto IN ('conflicto', 'aparcado') AND serie = 'BCON'`) == 2
	})

	// The summary shows the critico boleta.
	run(t, ctx, "open the summary", chromedp.Navigate(base+"/"))
	text := waitText(t, ctx, "Pendientes por plazo SUNAT")
	if !strings.Contains(text, "Conflictos sin revisar") {
		t.Errorf("the summary lacks the pipeline's health:\n%s", text)
	}
	screenshot(t, ctx, "consola-resumen")

	// Regularize the critico ones from /pendientes, and watch the run end.
	run(t, ctx, "open the critico pendientes", chromedp.Navigate(base+"/pendientes?plazo=critico"))
	waitText(t, ctx, "2-BCON-1")
	run(t, ctx, "click Regularizar", chromedp.Click(chromedp.CSS(`form[action="/regularizar"] button`)))
	waitText(t, ctx, "completa")
	testkit.Eventually(t, 10*time.Second, "BCON-1 aceptado", func() bool { return s.estado("BCON", 1) == "aceptado" })

	// Its timeline: the synthetic notification from regularization, applied.
	run(t, ctx, "search it", chromedp.Navigate(base+"/"), chromedp.SetValue(chromedp.CSS(`input[name="q"]`), "2-bcon-1"),
		chromedp.Submit(chromedp.CSS(`input[name="q"]`)))
	text = waitText(t, ctx, "notificación (regularizacion): aplicado")
	if !strings.Contains(text, "aceptado") {
		t.Errorf("the timeline lacks the new estado:\n%s", text)
	}
	screenshot(t, ctx, "consola-historia")

	// Mark the conflict reviewed.
	run(t, ctx, "open the conflicts", chromedp.Navigate(base+"/conflictos"))
	waitText(t, ctx, "otro-hash=")
	run(t, ctx, "mark it reviewed", chromedp.SetValue(chromedp.CSS(`input[name="nota"]`), "NubeFacT confirma el hash guardado"),
		chromedp.Click(chromedp.CSS(`form[action$="/revisado"] button`)))
	waitText(t, ctx, "Revisado por ana")

	// The comprobante of the parked notification appears; replay it from /esperando.
	s.insertEmitida("BCON", 3, 0)
	run(t, ctx, "open the waiting ones", chromedp.Navigate(base+"/esperando"))
	waitText(t, ctx, "2-BCON-3")
	run(t, ctx, "click Reenviar", chromedp.Click(chromedp.CSS(`form[action$="/reenviar"] button`)))
	testkit.Eventually(t, 10*time.Second, "BCON-3 aceptado after the replay", func() bool { return s.estado("BCON", 3) == "aceptado" })

	if n := s.count(`SELECT count(*) FROM acciones WHERE usuario = 'ana' AND resultado = 'ok'
		AND accion IN ('regularizar', 'marcar_revisado', 'reenviar')`); n != 3 {
		t.Errorf("recorded %d actions of ana, want 3", n)
	}
}
