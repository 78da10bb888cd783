package ready_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/ready"
)

func TestHTTPWaitsFor200(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := ready.HTTP(context.Background(), srv.URL, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestHTTPGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	if err := ready.HTTP(context.Background(), srv.URL, 200*time.Millisecond); err == nil {
		t.Fatal("ready while answering 503")
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := ready.TCP(context.Background(), addr, time.Minute); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := ready.TCP(context.Background(), addr, 200*time.Millisecond); err == nil {
		t.Fatal("ready with nobody listening")
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ready.TCP(ctx, "127.0.0.1:1", time.Minute); err == nil {
		t.Fatal("ready with a canceled context")
	}
}
