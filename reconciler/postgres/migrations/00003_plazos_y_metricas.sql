-- +goose Up

-- Counts of comprobantes by tipo, estado and day of issue in Lima (fecha_de_emision, or the
-- day of creado_en there), without counting a million rows: every statement that inserts,
-- updates or deletes comprobantes appends its net change per (tipo, estado, dia) to
-- comprobantes_conteo_deltas (INSERT only: concurrent writers never wait on each other), and
-- the metrics loop folds the deltas into comprobantes_conteo. The gauges by estado and by
-- deadline band, and the console's counts of today and of the last 7 days, read this table.
CREATE TABLE comprobantes_conteo (
    tipo_de_comprobante smallint NOT NULL,
    estado              text     NOT NULL,
    dia                 date     NOT NULL,
    n                   bigint   NOT NULL,
    PRIMARY KEY (tipo_de_comprobante, estado, dia)
);
CREATE TABLE comprobantes_conteo_deltas (
    tipo_de_comprobante smallint NOT NULL,
    estado              text     NOT NULL,
    dia                 date     NOT NULL,
    n                   bigint   NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION comprobantes_contar() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO comprobantes_conteo_deltas
        SELECT tipo_de_comprobante, estado, coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date), count(*)
        FROM nuevas GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO comprobantes_conteo_deltas
        SELECT tipo_de_comprobante, estado, coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date), -count(*)
        FROM viejas GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO comprobantes_conteo_deltas
        SELECT tipo_de_comprobante, estado, dia, sum(n) FROM (
            SELECT tipo_de_comprobante, estado, coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date) AS dia, 1 AS n FROM nuevas
            UNION ALL
            SELECT tipo_de_comprobante, estado, coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date), -1 FROM viejas) c
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER comprobantes_contar_insert AFTER INSERT ON comprobantes
    REFERENCING NEW TABLE AS nuevas FOR EACH STATEMENT EXECUTE FUNCTION comprobantes_contar();
CREATE TRIGGER comprobantes_contar_update AFTER UPDATE ON comprobantes
    REFERENCING OLD TABLE AS viejas NEW TABLE AS nuevas FOR EACH STATEMENT EXECUTE FUNCTION comprobantes_contar();
CREATE TRIGGER comprobantes_contar_delete AFTER DELETE ON comprobantes
    REFERENCING OLD TABLE AS viejas FOR EACH STATEMENT EXECUTE FUNCTION comprobantes_contar();
-- The triggers above hold their lock on comprobantes until this migration commits, so no write
-- falls between this count and the first delta.
INSERT INTO comprobantes_conteo
SELECT tipo_de_comprobante, estado, coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date), count(*)
FROM comprobantes GROUP BY 1, 2, 3;

-- Conflicts an operator has reviewed (the ops console marks them); reconciler_conflictos counts
-- the conflicts of the audit that are not here. The audit itself stays append-only.
CREATE TABLE conflictos_revisados (
    notificacion_id bigint PRIMARY KEY, -- notificaciones.id of a conflicto (no foreign key: the audit admits no constraint that could block it)
    revisado_por    text        NOT NULL,
    nota            text        NOT NULL,
    revisado_en     timestamptz NOT NULL DEFAULT now()
);

-- Every regularization, from the command line, the schedule or the console: what it looked at,
-- what it found, and how it ended. A run still going has no terminada_en.
CREATE TABLE regularizaciones (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    origen        text        NOT NULL CHECK (origen IN ('cli', 'programada', 'consola')),
    filtro        text        NOT NULL, -- the selection, as the command line would write it
    iniciada_en   timestamptz NOT NULL DEFAULT now(),
    terminada_en  timestamptz,
    -- completa, interrumpida (cancelled), error_cuenta (a fatal NubeFacT code: token, RUTA,
    -- suspended account), error (anything else that stopped it); NULL while it runs.
    resultado     text CHECK (resultado IN ('completa', 'interrumpida', 'error_cuenta', 'error')),
    detalle       text,
    total         bigint NOT NULL DEFAULT 0,
    consultados   bigint NOT NULL DEFAULT 0,
    aceptadas     bigint NOT NULL DEFAULT 0,
    rechazadas    bigint NOT NULL DEFAULT 0,
    anuladas      bigint NOT NULL DEFAULT 0,
    sin_resultado bigint NOT NULL DEFAULT 0,
    no_existe     bigint NOT NULL DEFAULT 0,
    errores       bigint NOT NULL DEFAULT 0,
    publicadas    bigint NOT NULL DEFAULT 0
);
CREATE INDEX regularizaciones_iniciada_en ON regularizaciones (iniciada_en);

-- +goose Down
DROP TABLE regularizaciones;
DROP TABLE conflictos_revisados;
DROP TRIGGER comprobantes_contar_delete ON comprobantes;
DROP TRIGGER comprobantes_contar_update ON comprobantes;
DROP TRIGGER comprobantes_contar_insert ON comprobantes;
DROP FUNCTION comprobantes_contar();
DROP TABLE comprobantes_conteo_deltas;
DROP TABLE comprobantes_conteo;
