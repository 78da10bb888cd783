package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	ingestConexiones = 64
	ingestDuracion   = 10 * time.Second
	benchToken       = "bench-webhook-token-0123456789"
)

// ingestar measures bin/ingest with 64 keep-alive connections posting distinct valid
// notifications for 10 s, beside (a) a bare net/http handler that reads the body and answers
// 200, in a process of its own, and (b) raw JetStream publishes of the same payloads from 64
// goroutines on one connection, each waiting for its acknowledgement.
func ingestar(ctx context.Context, e entorno) ([]Resultado, error) {
	a, err := nuevoAislado(ctx, e, 2)
	if err != nil {
		return nil, err
	}
	defer a.cerrar()

	fmt.Fprintln(logw, "  ingest: bare net/http handler...")
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bare := &process.Child{Name: "bare handler", Path: self, Log: filepath.Join(e.logs, "bare.log")}
	bareAddr, err := freeport.Try(func(addr string) error {
		bare.Args = []string{"-serve-bare", addr}
		return bare.StartReady(ctx, func(ctx context.Context) error { return ready.HTTP(ctx, "http://"+addr+"/readyz", time.Minute) })
	})
	if err != nil {
		return nil, err
	}
	bareRate, bareLat, err := cargaHTTP(ctx, "http://"+bareAddr+"/webhooks/nubefact", ingestConexiones, ingestDuracion, "BBAR")
	bare.Kill()
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(logw, "  ingest: raw JetStream publishes...")
	jsRate, jsLat, err := publicarCrudo(ctx, a, ingestConexiones, ingestDuracion)
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(logw, "  ingest: bin/ingest...")
	ing, err := arrancar(ctx, e, "ingest", append(append(a.env(), "WEBHOOK_TOKENS="+benchToken), strings.Fields(os.Getenv("BENCH_INGEST_ENV"))...))
	if err != nil {
		return nil, err
	}
	rate, lat, err := cargaHTTP(ctx, "http://"+ing.addr+"/webhooks/nubefact?token="+benchToken, ingestConexiones, ingestDuracion, "BING")
	rss, perr := ing.parar()
	if err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	esc := "ingest, 64 connections, 10 s"
	out := []Resultado{
		conBase(Resultado{Escenario: esc, Metrica: "webhooks/s vs bare handler", Valor: rate, Unidad: "req/s"}, "bare net/http handler", bareRate),
		conBase(Resultado{Escenario: esc, Metrica: "webhooks/s vs raw JetStream", Valor: rate, Unidad: "req/s"}, "raw JetStream publish+ack", jsRate),
	}
	for _, p := range []struct {
		nombre string
		q      float64
	}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}} {
		out = append(out,
			conBase(Resultado{Escenario: esc, Metrica: p.nombre + " latency vs raw JetStream", Valor: ms(lat.percentil(p.q)), Unidad: "ms"}, "raw JetStream publish+ack", ms(jsLat.percentil(p.q))),
			conBase(Resultado{Escenario: esc, Metrica: p.nombre + " latency vs bare handler", Valor: ms(lat.percentil(p.q)), Unidad: "ms"}, "bare net/http handler", ms(bareLat.percentil(p.q))))
	}
	out = append(out, Resultado{Escenario: esc, Metrica: "ingest peak RSS", Valor: rss, Unidad: "MiB"})
	return out, nil
}

func publicarCrudo(ctx context.Context, a *aislado, n int, d time.Duration) (float64, latencias, error) {
	subject := a.topo.SubjectNotificaciones()
	rate, lat, fallos := durante(n, d, func() struct{} { return struct{}{} }, func(_ struct{}, i int64) bool {
		body := cuerpoNotificacion("BRAW", i)
		nt, err := contracts.Decode(body)
		if err != nil {
			return false
		}
		_, err = a.js.Publish(ctx, subject, body, jetstream.WithMsgID(contracts.MessageID(nt)))
		return err == nil
	})
	if fallos > 0 {
		return 0, nil, fmt.Errorf("%d raw publishes failed", fallos)
	}
	return rate, lat, nil
}
