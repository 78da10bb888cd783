-- +goose Up

-- The billing system records each comprobante here as pendiente when it emits it; the
-- reconciler moves it to its final state when SUNAT's outcome arrives.
CREATE TABLE comprobantes (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tipo_de_comprobante smallint NOT NULL CHECK (tipo_de_comprobante BETWEEN 1 AND 4),
    serie               text     NOT NULL CHECK (serie ~ '^[A-Z0-9]{4}$'),
    numero              integer  NOT NULL CHECK (numero BETWEEN 1 AND 99999999),
    estado              text     NOT NULL DEFAULT 'pendiente'
                        CHECK (estado IN ('pendiente', 'aceptado', 'rechazado', 'anulado')),
    fecha_de_emision    date,
    enlace              text,
    enlace_del_pdf      text,
    enlace_del_xml      text,
    enlace_del_cdr      text,     -- the CDR: the legal proof of SUNAT's acceptance
    codigo_hash         text,
    sunat_responsecode  text,
    sunat_description   text,
    sunat_note          text,
    estado_final_en     timestamptz, -- when the current final state was reached
    creado_en           timestamptz NOT NULL DEFAULT now(),
    actualizado_en      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tipo_de_comprobante, serie, numero)
);

-- Regularization walks the pending rows by id (keyset pagination).
CREATE INDEX comprobantes_pendientes ON comprobantes (id) WHERE estado = 'pendiente';

-- The inbox: every message ID the reconciler has applied. It outlives JetStream's duplicate
-- window, so a notification redelivered days later still changes nothing.
CREATE TABLE inbox (
    message_id   text PRIMARY KEY,
    procesado_en timestamptz NOT NULL DEFAULT now()
);

-- The audit: one row per notification processed, whatever it did. Append-only.
CREATE TABLE notificaciones (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id          text        NOT NULL,
    origen              text        NOT NULL,
    recibido_en         timestamptz NOT NULL,
    remitente           text,
    stream_seq          bigint,
    tipo_de_comprobante smallint    NOT NULL,
    serie               text        NOT NULL,
    numero              integer     NOT NULL,
    resultado           text        NOT NULL, -- what the notification reported
    efecto              text        NOT NULL, -- what applying it did (estado.Efecto)
    estado_anterior     text,
    estado_nuevo        text,
    motivo              text        NOT NULL,
    payload             text        NOT NULL, -- the raw body, byte for byte
    registrado_en       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notificaciones_clave ON notificaciones (tipo_de_comprobante, serie, numero);
CREATE INDEX notificaciones_conflictos ON notificaciones (id) WHERE efecto = 'conflicto';

-- +goose StatementBegin
CREATE FUNCTION notificaciones_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'notificaciones is an append-only audit: % is not allowed', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER notificaciones_append_only BEFORE UPDATE OR DELETE ON notificaciones
    FOR EACH ROW EXECUTE FUNCTION notificaciones_append_only();
CREATE TRIGGER notificaciones_no_truncate BEFORE TRUNCATE ON notificaciones
    FOR EACH STATEMENT EXECUTE FUNCTION notificaciones_append_only();

-- The transactional outbox: the event of each state change, written in the same transaction
-- and relayed to JetStream afterwards with event_id as its Nats-Msg-Id. A row is deleted once
-- JetStream has stored its event: what is here is what is still to publish (the audit and the
-- events stream keep the history).
CREATE TABLE outbox (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id  text        NOT NULL UNIQUE,
    subject   text        NOT NULL,
    evento    json        NOT NULL, -- json, not jsonb: stored and relayed as written, never queried
    creado_en timestamptz NOT NULL DEFAULT now()
);

-- Notifications for comprobantes that never appeared in the table within their retry budget.
-- Ops replay them with `reconciler replay` once the comprobante exists.
CREATE TABLE aparcadas (
    message_id          text PRIMARY KEY,
    origen              text        NOT NULL,
    recibido_en         timestamptz NOT NULL,
    remitente           text,
    tipo_de_comprobante smallint    NOT NULL,
    serie               text        NOT NULL,
    numero              integer     NOT NULL,
    motivo              text        NOT NULL,
    intentos            integer     NOT NULL,
    payload             text        NOT NULL,
    aparcada_en         timestamptz NOT NULL DEFAULT now(),
    veces               integer     NOT NULL DEFAULT 1,
    reenviada_en        timestamptz
);

-- +goose Down
DROP TABLE aparcadas;
DROP TABLE outbox;
DROP TABLE notificaciones;
DROP FUNCTION notificaciones_append_only();
DROP TABLE inbox;
DROP TABLE comprobantes;
