package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
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

// AvanzarRegularizacion records the counts of run id while it goes on, and returns who asked
// to stop it (PedirDetencion), "" when nobody has.
func (s *Store) AvanzarRegularizacion(ctx context.Context, id int64, f estado.FinDeRegularizacion) (detenidaPor string, _ error) {
	err := s.pool.QueryRow(ctx, `UPDATE regularizaciones SET total = $2, consultados = $3, aceptadas = $4, rechazadas = $5,
			anuladas = $6, sin_resultado = $7, no_existe = $8, errores = $9, publicadas = $10
		WHERE id = $1 AND terminada_en IS NULL RETURNING coalesce(detencion_pedida_por, '')`, id, f.Total, f.Consultados,
		f.Aceptadas, f.Rechazadas, f.Anuladas, f.SinResultado, f.NoExiste, f.Errores, f.Publicadas).Scan(&detenidaPor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil // already ended
	}
	return detenidaPor, wrap("record regularization", err)
}

// PedirDetencion asks run id to stop, on behalf of usuario: whichever reconciler runs it reads
// the request within a second and ends it as interrumpida. It reports false when the run is not
// going on (ended, or unknown) or a stop was already asked for.
func (s *Store) PedirDetencion(ctx context.Context, id int64, usuario string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE regularizaciones SET detencion_pedida_por = $2, detencion_pedida_en = now()
		WHERE id = $1 AND terminada_en IS NULL AND detencion_pedida_en IS NULL`, id, usuario)
	return tag.RowsAffected() == 1, wrap("request stop", err)
}

// NoResueltaEnRegularizacion records a comprobante run id could not resolve, and why.
func (s *Store) NoResueltaEnRegularizacion(ctx context.Context, id int64, c contracts.Clave, motivo, detalle string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO regularizacion_no_resueltas (regularizacion_id, tipo_de_comprobante, serie, numero, motivo, detalle)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, c.TipoDeComprobante, c.Serie, c.Numero, motivo, detalle)
	return wrap("record unresolved", err)
}

// Regularizaciones lists the last limit runs, newest first.
func (s *Store) Regularizaciones(ctx context.Context, limit int) ([]estado.Regularizacion, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM regularizaciones ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("list regularizations", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[estado.Regularizacion])
	return out, wrap("list regularizations", err)
}

// RegularizacionPorID reads run id; found is false when there is none.
func (s *Store) RegularizacionPorID(ctx context.Context, id int64) (_ estado.Regularizacion, found bool, _ error) {
	return s.unaRegularizacion(ctx, `SELECT * FROM regularizaciones WHERE id = $1`, id)
}

// unaRegularizacion reads the run query selects; found is false when it selects none.
func (s *Store) unaRegularizacion(ctx context.Context, query string, args ...any) (_ estado.Regularizacion, found bool, _ error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return estado.Regularizacion{}, false, wrap("read regularization", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[estado.Regularizacion])
	if errors.Is(err, pgx.ErrNoRows) {
		return estado.Regularizacion{}, false, nil
	}
	return r, err == nil, wrap("read regularization", err)
}

// NoResueltas lists what run id could not resolve.
func (s *Store) NoResueltas(ctx context.Context, id int64) ([]estado.NoResuelta, error) {
	rows, err := s.pool.Query(ctx, `SELECT tipo_de_comprobante, serie, numero, motivo, detalle FROM regularizacion_no_resueltas
		WHERE regularizacion_id = $1 ORDER BY tipo_de_comprobante, serie, numero`, id)
	if err != nil {
		return nil, wrap("read unresolved", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.NoResuelta, error) {
		var n estado.NoResuelta
		var tipo int16
		err := r.Scan(&tipo, &n.Clave.Serie, &n.Clave.Numero, &n.Motivo, &n.Detalle)
		n.Clave.TipoDeComprobante = int(tipo)
		return n, err
	})
	return out, wrap("read unresolved", err)
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

// ExclusionDeRegularizaciones is the Postgres advisory lock every regularization holds while it runs
// (the command line, each scheduled round, the console's): one at a time across every
// reconciler and command, so NubeFacT never sees two runs' calls at once.
const ExclusionDeRegularizaciones int64 = 0x626f6c6574617301 // "boletas" and 1

// detalleAbandonada is the detalle of a run found going on by the next holder of the lock.
const detalleAbandonada = "abandonada: su proceso terminó sin registrar el final (hallada en curso al tomar el candado)"

// UnaRegularizacionALaVez runs f holding ExclusionDeRegularizaciones, and reports false, without
// running f, when another session holds it. Before f it closes as interrumpida every run still
// recorded as going on: only the lock's holder runs, so such a run's process died (its lock
// ended with its connection) before it could record how it ended.
func (s *Store) UnaRegularizacionALaVez(ctx context.Context, f func(context.Context) error) (bool, error) {
	return s.WithLock(ctx, ExclusionDeRegularizaciones, func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, `UPDATE regularizaciones SET terminada_en = now(), resultado = $1,
				detalle = coalesce('detenida desde la consola por ' || detencion_pedida_por || '; ', '') || $2
			WHERE terminada_en IS NULL`, estado.RegularizacionInterrumpida, detalleAbandonada); err != nil {
			return wrap("close abandoned regularizations", err)
		}
		return f(ctx)
	})
}

// RegularizacionEnCurso is the run recorded as going on, found false when none is.
func (s *Store) RegularizacionEnCurso(ctx context.Context) (_ estado.Regularizacion, found bool, _ error) {
	return s.unaRegularizacion(ctx, `SELECT * FROM regularizaciones WHERE terminada_en IS NULL ORDER BY id DESC LIMIT 1`)
}

// WithLock runs f while holding the session advisory lock key on a connection of its own,
// and reports whether it ran: false when another session holds the lock (another reconciler is
// doing the same thing). The lock ends with the connection, should this process die.
func (s *Store) WithLock(ctx context.Context, key int64, f func(context.Context) error) (bool, error) {
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
