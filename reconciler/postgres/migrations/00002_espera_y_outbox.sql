-- +goose Up

-- A notification for a comprobante that is not in the table is acknowledged at once and waits
-- here (JetStream's ack-pending set is shared by every notification: unknown ones held there
-- would stop the known ones behind them). `lista` says that its comprobante exists now: the
-- reconciler applies the ready ones within about a second and deletes them from this table; the
-- audit keeps both the parking and the application.
ALTER TABLE aparcadas ADD COLUMN lista boolean NOT NULL DEFAULT false;
CREATE INDEX aparcadas_listas ON aparcadas (recibido_en) WHERE lista;
CREATE INDEX aparcadas_clave ON aparcadas (tipo_de_comprobante, serie, numero);
-- The sweep of recently parked notifications (an INSERT that committed while they were being
-- parked is invisible to the trigger) and the expiry walk this one.
CREATE INDEX aparcadas_aparcada_en ON aparcadas (aparcada_en);

-- The billing system's INSERT marks the notifications waiting for that comprobante as ready.
-- SECURITY DEFINER: the billing system's role needs no privilege on aparcadas.
-- +goose StatementBegin
CREATE FUNCTION aparcadas_comprobante_insertado() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE aparcadas SET lista = true
     WHERE tipo_de_comprobante = NEW.tipo_de_comprobante AND serie = NEW.serie
       AND numero = NEW.numero AND NOT lista;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER aparcadas_comprobante_insertado AFTER INSERT ON comprobantes
    FOR EACH ROW EXECUTE FUNCTION aparcadas_comprobante_insertado();

-- The relay claims outbox rows for a while instead of holding their locks while it waits for
-- JetStream: a relay that dies leaves them to another once the claim expires.
ALTER TABLE outbox ADD COLUMN reclamado_hasta timestamptz;

-- +goose Down
ALTER TABLE outbox DROP COLUMN reclamado_hasta;
DROP TRIGGER aparcadas_comprobante_insertado ON comprobantes;
DROP FUNCTION aparcadas_comprobante_insertado();
DROP INDEX aparcadas_aparcada_en;
DROP INDEX aparcadas_clave;
DROP INDEX aparcadas_listas;
ALTER TABLE aparcadas DROP COLUMN lista;
