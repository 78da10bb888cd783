package console

import (
	"context"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// Store is what the console reads and records in Postgres (*postgres.Store is one).
type Store interface {
	// Resumen
	Fotografiar(ctx context.Context) (estado.Foto, error)
	ConteosRecientes(ctx context.Context, hoy estado.Dia) ([]estado.ConteoReciente, error)
	UltimaRegularizacion(ctx context.Context, origen string) (time.Time, error)
	// The record of actions
	Acciones(ctx context.Context, limit int) ([]estado.Accion, error)
	RegistrarAccion(ctx context.Context, a estado.Accion) error
	// Pendientes and a comprobante's page
	PendientesPorDia(ctx context.Context, f estado.FiltroPendientes, despues estado.Cursor, limit int) ([]estado.PendienteDia, error)
	Comprobante(ctx context.Context, c contracts.Clave) (_ estado.Comprobante, found bool, _ error)
	Historia(ctx context.Context, c contracts.Clave, antes estado.CursorHistoria, limit int) ([]estado.Auditada, []estado.Accion, error)
	// Conflicts
	Conflictos(ctx context.Context, despues estado.CursorConflicto, limit int) ([]estado.ConflictoAuditado, error)
	MarcarRevisado(ctx context.Context, id int64, usuario, nota string) error
	// Parked notifications
	Aparcadas(ctx context.Context, p estado.PaginaAparcadas) ([]estado.Aparcada, error)
	AparcadasPorID(ctx context.Context, ids []string) ([]estado.Aparcada, error)
	Descartar(ctx context.Context, messageIDs []string, motivo string) ([]estado.Aparcada, error)
	// Regularizations
	Regularizaciones(ctx context.Context, limit int) ([]estado.Regularizacion, error)
	RegularizacionPorID(ctx context.Context, id int64) (_ estado.Regularizacion, found bool, _ error)
	NoResueltas(ctx context.Context, id int64) ([]estado.NoResuelta, error)
	PedirDetencion(ctx context.Context, id int64, usuario string) (bool, error)
	UnaRegularizacionALaVez(ctx context.Context, f func(context.Context) error) (bool, error)
}
