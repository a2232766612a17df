import { createDb, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import type { Connection } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainIndexer, ix, sendInstructions } from "../src/index.ts";
import { bootstrapLocalnet, buildLocalnet, startLocalnet, warpClock, type LocalnetAccounts, type RunningLocalnet } from "../src/localnet.ts";
import { PrismaChainIndexStore } from "../src/store.ts";

// The indexer pages through the program's history (a page size of 2, so every pass spans many pages)
// against a real localnet and a real Postgres, and moves past a transaction the RPC no longer has.
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
/** The program's transactions, oldest first. */
let history: string[];

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("indexer_paging");
  db = createDb(database.url);
  // Five emission cranks, an hour apart: five more program transactions, each with an event.
  for (let i = 0; i < 5; i++) {
    await warpClock(localnet.url, 3_600);
    await sendInstructions(localnet.connection, [ix.crankEmissions(chain.meshMint)], [chain.settlementAuthority]);
  }
  history = (await localnet.connection.getSignaturesForAddress(chain.programId, { limit: 1_000 }, "confirmed")).map((s) => s.signature).reverse();
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

/** The real connection, counting the signature pages it serves and the largest; `missing` answers null from getTransaction (the one faked method). */
function instrumented(missing: ReadonlySet<string> = new Set()) {
  const calls = { pages: 0, largest: 0 };
  const real = localnet.connection;
  const connection = new Proxy(real, {
    get(target, property, receiver) {
      if (property === "getSignaturesForAddress") {
        return async (...args: Parameters<Connection["getSignaturesForAddress"]>) => {
          const page = await target.getSignaturesForAddress(...args);
          calls.pages++;
          calls.largest = Math.max(calls.largest, page.length);
          return page;
        };
      }
      // A pruned transaction: the RPC lists its signature but has no body for it any more. Faked here
      // (localnet keeps all history); every other method is the real node's.
      if (property === "getTransaction") {
        return async (...args: Parameters<Connection["getTransaction"]>) => (missing.has(args[0]) ? null : target.getTransaction(...args));
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { connection, calls };
}

const appliedOrder = async () => (await db.chainEvent.findMany({ orderBy: { seq: "asc" }, select: { signature: true } })).map((e) => e.signature);
const cursor = async () => (await db.chainCursor.findUnique({ where: { programId: chain.programId.toBase58() } }))?.signature ?? null;

describe("chain indexer paging", () => {
  it("applies a history many pages long oldest first, a page at a time, and ends at the newest", async () => {
    expect(history.length).toBeGreaterThanOrEqual(6); // initialize and five cranks: three pages or more
    const { connection, calls } = instrumented();
    const indexer = new ChainIndexer(connection, new PrismaChainIndexStore(db, chain.meshMint), { programId: chain.programId, pageSize: 2 });
    expect(await indexer.catchUp()).toBe(history.length);
    expect(calls.largest).toBe(2);
    // Walked back once (⌈n / 2⌉ pages and the empty end), then fetched each older page again.
    expect(calls.pages).toBeGreaterThanOrEqual(history.length - 1);
    expect(await cursor()).toBe(history.at(-1));
    // Events in chain order: their transactions' order in the history.
    const order = await appliedOrder();
    const positions = order.map((signature) => history.indexOf(signature));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(indexer.missed).toBe(0);
    expect(await indexer.catchUp()).toBe(0);
  });

  it("skips a transaction the RPC no longer has, reports it, and keeps going to the newest", async () => {
    await db.chainEvent.deleteMany();
    await db.chainCursor.deleteMany();
    const pruned = history.at(-3)!; // an emission crank in the middle of a page
    const { connection } = instrumented(new Set([pruned]));
    const reported: string[] = [];
    const indexer = new ChainIndexer(connection, new PrismaChainIndexStore(db, chain.meshMint), {
      programId: chain.programId,
      pageSize: 2,
      missingRetries: 1,
      onMissing: (signature) => reported.push(signature),
    });
    expect(await indexer.catchUp()).toBe(history.length);
    expect(reported).toEqual([pruned]);
    expect(indexer.missed).toBe(1);
    expect(await cursor()).toBe(history.at(-1));
    const order = await appliedOrder();
    expect(order).not.toContain(pruned);
    // Every other crank's emission is there.
    expect(await db.chainEvent.count({ where: { name: "EmissionsMinted" } })).toBe(4);
  });
});
