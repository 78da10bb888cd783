-- +goose Up

-- Stopping a regularization from the console (Detener): the request is written here, on the
-- run's row, because the run may be on another reconciler; the running regularizer reads it
-- every second, with its progress, and ends the run as interrumpida. Who asked and when stay.
ALTER TABLE regularizaciones ADD COLUMN detencion_pedida_por text;
ALTER TABLE regularizaciones ADD COLUMN detencion_pedida_en timestamptz;

-- +goose Down
ALTER TABLE regularizaciones DROP COLUMN detencion_pedida_en;
ALTER TABLE regularizaciones DROP COLUMN detencion_pedida_por;
