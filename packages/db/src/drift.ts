import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/**
 * Schema drift check: compares what prisma/schema.prisma declares (read with Prisma's own schema
 * parser, the wasm build, offline) with what the migrated database actually has — tables, columns,
 * types, nullability, enums and indexes. Prisma's `migrate diff` would do this with its native engine,
 * which cannot be downloaded here.
 */
export const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../prisma/schema.prisma");

/** Database objects that exist on purpose without a Prisma counterpart (see the invariants migration). */
export const DATABASE_ONLY_INDEXES = new Set(["allocation_device_no_overlap", "device_outage_open", "device_pause_open", "cluster_lease_open_on_chain", "device_challenge_due", "verification_challenge_pending", "cluster_settle_due", "cluster_serving_ends_at", "cluster_serving_end_requested", "cluster_deploy_due", "allocation_device_lost", "cluster_reconcile_due", "device_outage_vanish_due"]);
/** Tables the application never reads or writes, only triggers (ledger_journal_check: the ledger's per-transaction check queue). */
export const DATABASE_ONLY_TABLES = new Set(["ledger_journal_check"]);

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  dbName?: string | null;
  fields: { name: string }[];
}
interface DmmfEnum {
  name: string;
  dbName: string | null;
  values: { name: string; dbName: string | null }[];
}
interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}

function loadDatamodel(schemaPath: string): Datamodel {
  const require = createRequire(import.meta.url);
  const wasm = require("@prisma/prisma-schema-wasm") as { get_dmmf(params: string): string };
  const schema = readFileSync(schemaPath, "utf8");
  return (JSON.parse(wasm.get_dmmf(JSON.stringify({ prismaSchema: [[path.basename(schemaPath), schema]] }))) as { datamodel: Datamodel }).datamodel;
}

const SCALAR_TYPES: Record<string, string> = {
  String: "text",
  Int: "integer",
  BigInt: "bigint",
  Boolean: "boolean",
  DateTime: "timestamp(3) without time zone",
  Float: "double precision",
  Decimal: "numeric(65,30)",
  Json: "jsonb",
  Bytes: "bytea",
};

function nativeTypeName([name, args]: [string, string[]]): string {
  const suffix = args.length ? `(${args.join(",")})` : "";
  switch (name) {
    case "Uuid":
      return "uuid";
    case "VarChar":
      return `character varying${suffix}`;
    case "Char":
      return `character${suffix}`;
    case "Text":
      return "text";
    case "Timestamptz":
      return `timestamp${suffix} with time zone`;
    case "Timestamp":
      return `timestamp${suffix} without time zone`;
    case "Integer":
      return "integer";
    case "BigInt":
      return "bigint";
    case "SmallInt":
      return "smallint";
    default:
      return `${name.toLowerCase()}${suffix}`;
  }
}

interface Column {
  type: string;
  nullable: boolean;
}
interface Shape {
  tables: Map<string, Map<string, Column>>;
  enums: Map<string, string[]>;
  /** "table(col, col) unique|index|primary" */
  indexes: Set<string>;
}

export function expectedShape(schemaPath = SCHEMA_PATH): Shape {
  const datamodel = loadDatamodel(schemaPath);
  const enumDbName = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tableOf = new Map(datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));
  const tables = new Map<string, Map<string, Column>>();
  const columnOf = new Map<string, string>();
  for (const model of datamodel.models) {
    const columns = new Map<string, Column>();
    for (const field of model.fields) {
      if (field.kind === "object") continue;
      const column = field.dbName ?? field.name;
      columnOf.set(`${model.name}.${field.name}`, column);
      const base =
        field.kind === "enum" ? enumDbName.get(field.type)! : field.nativeType ? nativeTypeName(field.nativeType) : (SCALAR_TYPES[field.type] ?? field.type);
      // Prisma creates scalar lists as nullable array columns.
      columns.set(column, { type: field.isList ? `${base}[]` : base, nullable: field.isList || !field.isRequired });
    }
    tables.set(tableOf.get(model.name)!, columns);
  }
  const enums = new Map(datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]));
  const indexes = new Set<string>();
  for (const index of datamodel.indexes) {
    if (index.type === "fulltext") continue;
    const columns = index.fields.map((f) => columnOf.get(`${index.model}.${f.name}`) ?? f.name);
    const kind = index.type === "id" ? "primary" : index.type === "unique" ? "unique" : "index";
    indexes.add(`${tableOf.get(index.model)}(${columns.join(", ")}) ${kind}`);
  }
  return { tables, enums, indexes };
}

export async function actualShape(url: string): Promise<Shape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query<{ table: string; column: string; type: string; nullable: boolean }>(`
      select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
         and c.relname <> '_prisma_migrations' and c.relname <> all($1::text[])`, [[...DATABASE_ONLY_TABLES]]);
    const enums = await client.query<{ name: string; values: string[] }>(`
      select t.typname as name, array_agg(e.enumlabel order by e.enumsortorder)::text[] as values
        from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
       where n.nspname = 'public' group by t.typname`);
    const indexes = await client.query<{ name: string; table: string; columns: string[]; unique: boolean; primary: boolean }>(`
      select i.relname as name, c.relname as table, i_x.indisunique as unique, i_x.indisprimary as primary,
             array(select a.attname from unnest(i_x.indkey) with ordinality k(attnum, ord)
                     join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum order by k.ord)::text[] as columns
        from pg_index i_x
        join pg_class i on i.oid = i_x.indexrelid
        join pg_class c on c.oid = i_x.indrelid
        join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relname <> '_prisma_migrations'`);
    const tables = new Map<string, Map<string, Column>>();
    for (const row of columns.rows) {
      const table = tables.get(row.table) ?? new Map<string, Column>();
      table.set(row.column, { type: row.type.replaceAll('"', ""), nullable: row.nullable });
      tables.set(row.table, table);
    }
    return {
      tables,
      enums: new Map(enums.rows.map((row) => [row.name, row.values])),
      indexes: new Set(
        indexes.rows
          .filter((row) => !DATABASE_ONLY_INDEXES.has(row.name) && !DATABASE_ONLY_TABLES.has(row.table))
          .map((row) => `${row.table}(${row.columns.join(", ")}) ${row.primary ? "primary" : row.unique ? "unique" : "index"}`),
      ),
    };
  } finally {
    await client.end();
  }
}

/** Differences between the Prisma schema and the database; empty when they agree. */
export async function schemaDrift(url: string, schemaPath = SCHEMA_PATH): Promise<string[]> {
  const expected = expectedShape(schemaPath);
  const actual = await actualShape(url);
  const drift: string[] = [];
  for (const [table, columns] of expected.tables) {
    const actualColumns = actual.tables.get(table);
    if (!actualColumns) {
      drift.push(`table ${table} is in the schema but not in the database`);
      continue;
    }
    for (const [name, column] of columns) {
      const found = actualColumns.get(name);
      if (!found) drift.push(`column ${table}.${name} is in the schema but not in the database`);
      else {
        if (found.type !== column.type) drift.push(`column ${table}.${name} has type ${found.type} in the database, ${column.type} in the schema`);
        if (found.nullable !== column.nullable) drift.push(`column ${table}.${name} is ${found.nullable ? "nullable" : "NOT NULL"} in the database, ${column.nullable ? "nullable" : "NOT NULL"} in the schema`);
      }
    }
    for (const name of actualColumns.keys()) if (!columns.has(name)) drift.push(`column ${table}.${name} is in the database but not in the schema`);
  }
  for (const table of actual.tables.keys()) if (!expected.tables.has(table)) drift.push(`table ${table} is in the database but not in the schema`);
  for (const [name, values] of expected.enums) {
    const found = actual.enums.get(name);
    if (!found) drift.push(`enum ${name} is in the schema but not in the database`);
    else if (found.join(",") !== values.join(",")) drift.push(`enum ${name} has values [${found.join(", ")}] in the database, [${values.join(", ")}] in the schema`);
  }
  for (const name of actual.enums.keys()) if (!expected.enums.has(name)) drift.push(`enum ${name} is in the database but not in the schema`);
  for (const index of expected.indexes) if (!actual.indexes.has(index)) drift.push(`index ${index} is in the schema but not in the database`);
  for (const index of actual.indexes) if (!expected.indexes.has(index)) drift.push(`index ${index} is in the database but not in the schema`);
  return drift;
}
