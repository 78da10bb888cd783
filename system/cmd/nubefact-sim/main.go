// Command nubefact-sim is a fake NubeFacT for demos and load tests: it serves Operation 2 on a
// RUTA with token checking and answers from outcomes set through its /_sim/ control endpoints.
//
//	nubefact-sim -addr 127.0.0.1:9090 -token secret-token -latency 20ms -default aceptada
//	curl -X PUT --data rechazada 127.0.0.1:9090/_sim/comprobantes/2/BBB1/7
//	curl -X PUT 127.0.0.1:9090/_sim/falla/40        # every call answers codigo 40 (0 restores)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nubefact-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:9090", "listen address")
	token := flag.String("token", "", "the account's token (required)")
	latency := flag.Duration("latency", 0, "delay of every answer")
	defecto := flag.String("default", string(simulador.NoExiste), "answer for comprobantes not set: aceptada, rechazada, anulada, pendiente, no_existe")
	flag.Parse()
	if *token == "" {
		return errors.New("-token is required")
	}
	sim := simulador.New(*token)
	sim.Latencia(*latency)
	sim.PorDefecto(simulador.Situacion(*defecto))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("NUBEFACT_RUTA=http://%s%s\n", ln.Addr(), sim.Ruta)
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
