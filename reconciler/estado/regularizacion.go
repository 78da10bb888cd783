package estado

// Origins of a regularization run.
const (
	RegularizacionCLI        = "cli"        // bin/reconciler regularize
	RegularizacionProgramada = "programada" // the safety net, REGULARIZE_EVERY
	RegularizacionConsola    = "consola"    // the ops console
)

// How a regularization run ended (the regularizaciones table's resultado).
const (
	RegularizacionCompleta     = "completa"     // it went through every selected comprobante
	RegularizacionInterrumpida = "interrumpida" // cancelled (Ctrl-C, a shutdown) before the end
	RegularizacionErrorCuenta  = "error_cuenta" // a fatal NubeFacT code (10, 11, 12, 50, 51) stopped it
	RegularizacionError        = "error"        // anything else that stopped it (Postgres, NATS)
)

// FinDeRegularizacion is how a run ended and what it counted, for its record.
type FinDeRegularizacion struct {
	Resultado                                                                                        string
	Detalle                                                                                          string // why it stopped, when it did not complete
	Total, Consultados, Aceptadas, Rechazadas, Anuladas, SinResultado, NoExiste, Errores, Publicadas int64
}
