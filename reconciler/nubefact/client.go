// Package nubefact is a client of NubeFacT's API for Operation 2, consultar_comprobante: what
// NubeFacT (and SUNAT through it) knows of one comprobante.
package nubefact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/retry"
)

// Client calls one NubeFacT account (its RUTA and TOKEN). It is safe for concurrent use.
type Client struct {
	ruta  string
	token string
	http  *http.Client
	// Retries bounds the extra attempts after a retryable failure (codigo 40, HTTP 5xx, timeout,
	// connection error); each waits retry.Backoff: Backoff·2^n, ±20%, at most MaxBackoff.
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Observe, when set, hears of every call Consultar completes (not those cancelled): its
	// outcome as ResultadoDe names it and how long it took, retries included.
	Observe func(resultado string, d time.Duration)
}

// New returns a client with a per-call timeout, which must be positive. The RUTA must be https,
// except on a loopback host (the simulator). The token is kept out of every error and log, and
// so is the RUTA's path, which carries the account's identifier.
func New(ruta, token string, timeout time.Duration) (*Client, error) {
	if ruta == "" {
		return nil, errors.New("NUBEFACT_RUTA is empty")
	}
	// Checked here because a RUTA without its scheme fails every call with a transport error,
	// which is retried per boleta instead of stopping the batch.
	u, err := url.Parse(ruta)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("NUBEFACT_RUTA must be an https URL, like https://api.nubefact.com/api/v1/<uuid>")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("NUBEFACT_RUTA must start with https:// (host %s): over http:// the token would travel in clear; http:// is accepted only on a loopback host such as 127.0.0.1", u.Host)
	}
	if token == "" {
		return nil, errors.New("NUBEFACT_TOKEN is empty")
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("NUBEFACT_TIMEOUT must be positive, got %v: without a timeout a stalled NubeFacT holds a call forever", timeout)
	}
	return &Client{
		ruta: ruta, token: token,
		http: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second,
			},
			// A redirect is never followed: the token would go with it (to plain http, or to
			// another host whose answer would then pass for NubeFacT's). consultarUnaVez turns
			// the 3xx into a RedirectError.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Retries: 4, Backoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second,
	}, nil
}

// loopback reports whether host is localhost or a loopback address (127.0.0.0/8, ::1), where
// plain http does not leave the machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxRespuesta bounds the answer read: the optional *_zip_base64 fields make it grow, but never
// to this.
const maxRespuesta = 16 << 20

type consulta struct {
	Operacion         string `json:"operacion"`
	TipoDeComprobante int    `json:"tipo_de_comprobante"`
	Serie             string `json:"serie"`
	Numero            int    `json:"numero"`
}

// Consultar asks NubeFacT about the comprobante c, retrying what may pass. The answer is decoded
// into the same type as a webhook. Errors are *Error (NubeFacT answered with a codigo), a
// *RedirectError, or a transport error after the retries; Fatal tells whether the whole batch
// must stop.
//
// Cancelling ctx abandons the call in flight and the retries: the error then wraps ctx.Err().
// An abandoned answer is never decoded in part; the caller has simply not consulted c.
func (c *Client) Consultar(ctx context.Context, clave contracts.Clave) (contracts.Notificacion, error) {
	start := time.Now()
	n, err := c.consultar(ctx, clave)
	if c.Observe != nil && ctx.Err() == nil {
		c.Observe(ResultadoDe(err), time.Since(start))
	}
	return n, err
}

func (c *Client) consultar(ctx context.Context, clave contracts.Clave) (contracts.Notificacion, error) {
	body, _ := json.Marshal(consulta{"consultar_comprobante", clave.TipoDeComprobante, clave.Serie, clave.Numero})
	var last error
	for attempt := 0; ; attempt++ {
		n, err := c.consultarUnaVez(ctx, body, clave)
		var te *TransportError
		if errors.As(err, &te) && ctx.Err() != nil {
			// The transport failed because ctx ended, however it words it. ctx.Err(), not its
			// cause: a caller's cause (another worker's fatal error) is not this call's.
			return contracts.Notificacion{}, fmt.Errorf("calling NubeFacT about %s: %w", clave, ctx.Err())
		}
		if err == nil || !Retryable(err) || attempt >= c.Retries {
			if err != nil && last != nil && attempt > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return n, err
		}
		last = err
		select {
		case <-ctx.Done():
			return contracts.Notificacion{}, fmt.Errorf("%w (while retrying: %v)", ctx.Err(), last)
		case <-time.After(retry.Backoff(attempt+1, c.Backoff, c.MaxBackoff)):
		}
	}
}

func (c *Client) consultarUnaVez(ctx context.Context, body []byte, clave contracts.Clave) (contracts.Notificacion, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ruta, bytes.NewReader(body))
	if err != nil {
		return contracts.Notificacion{}, errors.New("NUBEFACT_RUTA is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", `Token token="`+c.token+`"`)
	resp, err := c.http.Do(req)
	if err != nil {
		return contracts.Notificacion{}, &TransportError{Err: redact(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return contracts.Notificacion{}, redireccion(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRespuesta))
	if err != nil {
		return contracts.Notificacion{}, &TransportError{Err: err}
	}
	var e struct {
		Errors any  `json:"errors"`
		Codigo *int `json:"codigo"`
	}
	if json.Unmarshal(data, &e) == nil && e.Codigo != nil {
		return contracts.Notificacion{}, &Error{Codigo: *e.Codigo, Mensaje: fmt.Sprint(e.Errors), HTTPStatus: resp.StatusCode}
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return contracts.Notificacion{}, &TransportError{Err: fmt.Errorf("HTTP %d from NubeFacT", resp.StatusCode), Status: resp.StatusCode}
	}
	if resp.StatusCode != http.StatusOK {
		return contracts.Notificacion{}, &Error{Codigo: 0, Mensaje: fmt.Sprintf("unexpected HTTP %d without codigo", resp.StatusCode), HTTPStatus: resp.StatusCode}
	}
	n, err := contracts.Decode(data)
	if err != nil {
		return contracts.Notificacion{}, fmt.Errorf("NubeFacT's answer for %s: %w", clave, err)
	}
	if n.Clave() != clave {
		return contracts.Notificacion{}, fmt.Errorf("NubeFacT answered about %s when asked about %s", n.Clave(), clave)
	}
	return n, nil
}

// redireccion describes a 3xx by its target's scheme and host only: the path and query may
// carry the account's identifier, as the RUTA's do.
func redireccion(resp *http.Response) *RedirectError {
	e := &RedirectError{Status: resp.StatusCode}
	if u, err := resp.Location(); err == nil && u.Host != "" {
		e.Destino = u.Scheme + "://" + u.Host
	}
	return e
}

// redact drops the URL from a url.Error: the RUTA carries the account's identifier, and these
// errors end in logs and in the accountant's report.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("POST NUBEFACT_RUTA: timeout: %w", err)
	}
	return fmt.Errorf("POST NUBEFACT_RUTA: %w", err)
}
