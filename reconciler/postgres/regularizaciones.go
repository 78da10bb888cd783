package postgres

import (
	"context"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
)

// IniciarRegularizacion records the start of a run and returns its id.
func (s *Store) IniciarRegularizacion(ctx context.Context, origen, filtro string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO regularizaciones (origen, filtro) VALUES ($1, $2) RETURNING id`,
		origen, filtro).Scan(&id)
	return id, wrap("record regularization", err)
}

// TerminarRegularizacion records how run id ended.
func (s *Store) TerminarRegularizacion(ctx context.Context, id int64, f estado.FinDeRegularizacion) error {
	_, err := s.pool.Exec(ctx, `UPDATE regularizaciones SET terminada_en = now(), resultado = $2, detalle = $3,
			total = $4, consultados = $5, aceptadas = $6, rechazadas = $7, anuladas = $8, sin_resultado = $9,
			no_existe = $10, errores = $11, publicadas = $12
		WHERE id = $1`, id, f.Resultado, nullable(f.Detalle), f.Total, f.Consultados, f.Aceptadas, f.Rechazadas,
		f.Anuladas, f.SinResultado, f.NoExiste, f.Errores, f.Publicadas)
	return wrap("record regularization", err)
}

// UltimaRegularizacion is when the last run of origen started (zero when none has).
func (s *Store) UltimaRegularizacion(ctx context.Context, origen string) (time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(iniciada_en) FROM regularizaciones WHERE origen = $1`, origen).Scan(&t)
	if t == nil {
		return time.Time{}, wrap("last regularization", err)
	}
	return *t, wrap("last regularization", err)
}

// ConCandado runs f while holding the session advisory lock key on a connection of its own,
// and reports whether it ran: false when another session holds the lock (another reconciler is
// doing the same thing). The lock ends with the connection, should this process die.
func (s *Store) ConCandado(ctx context.Context, key int64, f func(context.Context) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, wrap("advisory lock", err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		return false, wrap("advisory lock", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// The connection is in doubt: close it rather than return it locked to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return true, f(ctx)
}
