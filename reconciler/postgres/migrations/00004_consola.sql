-- +goose Up

-- Every action taken from the ops console: who, what, on what, when, and how it ended.
-- Append-only, like the audit.
CREATE TABLE acciones (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    usuario    text        NOT NULL,
    accion     text        NOT NULL, -- marcar_revisado, regularizar, reenviar, descartar
    objeto     text        NOT NULL, -- what it acted on: a notification id, a message ID, a filter
    -- the comprobante concerned, when there is one, for its timeline
    tipo_de_comprobante smallint,
    serie      text,
    numero     integer,
    detalle    text        NOT NULL DEFAULT '',
    resultado  text        NOT NULL, -- ok, or the error
    realizada_en timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX acciones_clave ON acciones (tipo_de_comprobante, serie, numero);

-- +goose StatementBegin
CREATE FUNCTION acciones_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'acciones is an append-only record: % is not allowed', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER acciones_append_only BEFORE UPDATE OR DELETE ON acciones
    FOR EACH ROW EXECUTE FUNCTION acciones_append_only();
CREATE TRIGGER acciones_no_truncate BEFORE TRUNCATE ON acciones
    FOR EACH STATEMENT EXECUTE FUNCTION acciones_append_only();

-- The comprobantes a regularization run could not resolve (not in NubeFacT, errors): its CSV
-- report, kept for the console.
CREATE TABLE regularizacion_no_resueltas (
    regularizacion_id   bigint   NOT NULL REFERENCES regularizaciones (id),
    tipo_de_comprobante smallint NOT NULL,
    serie               text     NOT NULL,
    numero              integer  NOT NULL,
    motivo              text     NOT NULL,
    detalle             text     NOT NULL
);
CREATE INDEX regularizacion_no_resueltas_id ON regularizacion_no_resueltas (regularizacion_id);

-- The console lists pending comprobantes by their day of issue in Lima, oldest first (the
-- nearest to SUNAT's deadline), a page at a time: keyset pagination on this index.
CREATE INDEX comprobantes_pendientes_por_dia ON comprobantes
    ((coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date)), id) WHERE estado = 'pendiente';

-- +goose Down
DROP INDEX comprobantes_pendientes_por_dia;
DROP TABLE regularizacion_no_resueltas;
DROP TABLE acciones;
DROP FUNCTION acciones_append_only();
