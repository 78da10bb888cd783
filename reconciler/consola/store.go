package consola

import (
	"context"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
)

// Store is what the console reads and records in Postgres (*postgres.Store is one).
type Store interface {
	// Resumen
	Fotografiar(ctx context.Context) (postgres.Foto, error)
	ConteosRecientes(ctx context.Context, hoy estado.Dia) ([]postgres.ConteoReciente, error)
	UltimaRegularizacion(ctx context.Context, origen string) (time.Time, error)
	// The record of actions
	Acciones(ctx context.Context, limit int) ([]postgres.Accion, error)
	RegistrarAccion(ctx context.Context, a postgres.Accion) error
	// Pendientes and a comprobante's page
	PendientesPorDia(ctx context.Context, f postgres.FiltroPendientes, despues postgres.Cursor, limit int) ([]postgres.PendienteDia, error)
	Comprobante(ctx context.Context, c contracts.Clave) (_ postgres.Comprobante, found bool, _ error)
	Historia(ctx context.Context, c contracts.Clave, antes postgres.CursorHistoria, limit int) ([]postgres.Auditada, []postgres.Accion, error)
	// Conflicts
	Conflictos(ctx context.Context, despues postgres.CursorConflicto, limit int) ([]postgres.Conflicto, error)
	MarcarRevisado(ctx context.Context, id int64, usuario, nota string) error
	// Parked notifications
	Aparcadas(ctx context.Context, p postgres.PaginaAparcadas) ([]postgres.Aparcada, error)
	AparcadasPorID(ctx context.Context, ids []string) ([]postgres.Aparcada, error)
	Descartar(ctx context.Context, messageIDs []string, motivo string) ([]postgres.Aparcada, error)
	// Regularizations
	Regularizaciones(ctx context.Context, limit int) ([]postgres.Regularizacion, error)
	RegularizacionPorID(ctx context.Context, id int64) (_ postgres.Regularizacion, found bool, _ error)
	NoResueltas(ctx context.Context, id int64) ([]postgres.NoResuelta, error)
	PedirDetencion(ctx context.Context, id int64, usuario string) (bool, error)
	ConCandadoDeRegularizacion(ctx context.Context, f func(context.Context) error) (bool, error)
}
