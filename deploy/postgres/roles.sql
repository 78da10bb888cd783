-- The database roles of the boletas system: each party gets only what it needs.
--
--   boletas_reconciler   the reconciler: owns the schema's tables, triggers and functions (it
--                        creates them: `reconciler migrate`, or on start) and is the only writer
--                        of estado, the links, the hash and the codes, the audit (notificaciones),
--                        inbox, outbox, aparcadas, regularizaciones and acciones.
--   boletas_facturacion  the hotel's billing system: SELECT on comprobantes, and INSERT of the
--                        columns of the documented INSERT only (tipo_de_comprobante, serie,
--                        numero, fecha_de_emision). Nothing on any other table; no UPDATE, DELETE
--                        or TRUNCATE anywhere. Its INSERT fires the table's triggers, which run
--                        as their owner (SECURITY DEFINER), so it needs nothing on aparcadas or
--                        the counts. The id is an identity column: no sequence privilege needed.
--   boletas_lectura      reports: SELECT on every table, now and after upgrades (default
--                        privileges), nothing else.
--
-- Roles are cluster-wide, privileges per database, so run it as a superuser connected to the
-- system's database:
--
--   psql -h HOST -U postgres -d boletas -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
--
-- Order, on a new database:  1. this file (creates the roles and lets boletas_reconciler create
-- the schema);  2. the reconciler, connected as boletas_reconciler, migrates (`reconciler
-- migrate`, or its first start);  3. this file again (the grants on the tables: until then the
-- billing system's INSERT is refused, never too permissive). On an existing database migrated
-- by another role (postgres), one run moves the objects to boletas_reconciler and grants. After
-- every upgrade of the reconciler: run it again. It is idempotent: each run resets the three
-- roles' privileges to exactly what is written here, and never touches passwords.
--
-- The roles are created with LOGIN and no password: set one with `\password boletas_facturacion`
-- (or ALTER ROLE ... PASSWORD), or grant the role to a login role of your own
-- (GRANT boletas_facturacion TO facturacion_app).

-- The roles. Two runs at once (several databases on one cluster) may race to create one: the
-- loser's CREATE fails with duplicate_object or unique_violation, and the role exists.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['boletas_reconciler', 'boletas_facturacion', 'boletas_lectura'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;

-- The database and the schema. Before PostgreSQL 15 every role could create objects in public:
-- only the reconciler may.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO boletas_reconciler', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO boletas_facturacion, boletas_lectura', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO boletas_reconciler;
REVOKE CREATE ON SCHEMA public FROM boletas_facturacion, boletas_lectura;
GRANT USAGE ON SCHEMA public TO boletas_facturacion, boletas_lectura;

-- The reconciler owns what its migrations created, also when another role ran them (tables
-- carry their indexes, triggers and identity sequences with them).
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT c.oid::regclass AS nombre, c.relkind FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
               AND pg_get_userbyid(c.relowner) <> 'boletas_reconciler'
               -- sequences owned by a column move with their table
               AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid
                        AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO boletas_reconciler',
                       CASE o.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       o.nombre);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS nombre FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> 'boletas_reconciler'
               AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') -- not an extension's
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO boletas_reconciler', o.nombre);
    END LOOP;
END
$$;

-- From a clean slate: whatever the billing system and the reports were granted before (by
-- hand, or by an older version of this file) goes; revoking a table's privileges revokes its
-- columns' too.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM boletas_facturacion, boletas_lectura;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM boletas_facturacion, boletas_lectura;

-- Reports read every table, including those of later upgrades.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO boletas_lectura;
ALTER DEFAULT PRIVILEGES FOR ROLE boletas_reconciler IN SCHEMA public GRANT SELECT ON TABLES TO boletas_lectura;

-- The billing system: its documented INSERT and reading its comprobantes back, nothing else.
DO $$
BEGIN
    IF to_regclass('public.comprobantes') IS NULL THEN
        RAISE NOTICE 'comprobantes does not exist yet: migrate (reconciler migrate, as boletas_reconciler), then run this file again';
        RETURN;
    END IF;
    GRANT SELECT ON comprobantes TO boletas_facturacion;
    GRANT INSERT (tipo_de_comprobante, serie, numero, fecha_de_emision) ON comprobantes TO boletas_facturacion;
END
$$;
