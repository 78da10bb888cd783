-- +goose Up

-- How many notifications are parked, without counting the table (PARKED_MAX caps it): every
-- statement that inserts or deletes parked notifications appends its net change here (INSERT
-- only, as comprobantes_conteo_deltas: concurrent writers never wait on each other), and the
-- aparcadas loop folds the rows into one every PARKED_INTERVAL, so the sum stays a few rows.
CREATE TABLE aparcadas_conteo (n bigint NOT NULL);

-- +goose StatementBegin
CREATE FUNCTION aparcadas_contar() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO aparcadas_conteo SELECT count(*) FROM nuevas HAVING count(*) > 0;
    ELSE
        INSERT INTO aparcadas_conteo SELECT -count(*) FROM viejas HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
-- An INSERT ... ON CONFLICT DO UPDATE lists in nuevas only the rows it inserted.
CREATE TRIGGER aparcadas_contar_insert AFTER INSERT ON aparcadas
    REFERENCING NEW TABLE AS nuevas FOR EACH STATEMENT EXECUTE FUNCTION aparcadas_contar();
CREATE TRIGGER aparcadas_contar_delete AFTER DELETE ON aparcadas
    REFERENCING OLD TABLE AS viejas FOR EACH STATEMENT EXECUTE FUNCTION aparcadas_contar();
-- The triggers hold their lock on aparcadas until this migration commits: no write falls
-- between this count and the first delta.
INSERT INTO aparcadas_conteo SELECT count(*) FROM aparcadas;

-- Every list of the console and of the command line is read a page at a time (keyset
-- pagination): these indexes give each page in the order it is shown, without a sort.
-- The parked notifications, oldest first.
CREATE INDEX aparcadas_aparcada_en_id ON aparcadas (aparcada_en, message_id);
DROP INDEX aparcadas_aparcada_en;
-- A comprobante's timeline, newest first: its audit rows and the console's actions on it.
CREATE INDEX notificaciones_clave_id ON notificaciones (tipo_de_comprobante, serie, numero, id);
DROP INDEX notificaciones_clave;
CREATE INDEX acciones_clave_id ON acciones (tipo_de_comprobante, serie, numero, id);
DROP INDEX acciones_clave;

-- +goose Down
CREATE INDEX acciones_clave ON acciones (tipo_de_comprobante, serie, numero);
DROP INDEX acciones_clave_id;
CREATE INDEX notificaciones_clave ON notificaciones (tipo_de_comprobante, serie, numero);
DROP INDEX notificaciones_clave_id;
CREATE INDEX aparcadas_aparcada_en ON aparcadas (aparcada_en);
DROP INDEX aparcadas_aparcada_en_id;
DROP TRIGGER aparcadas_contar_delete ON aparcadas;
DROP TRIGGER aparcadas_contar_insert ON aparcadas;
DROP FUNCTION aparcadas_contar();
DROP TABLE aparcadas_conteo;
