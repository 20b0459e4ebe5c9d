// graphile-worker 0.18, tuned as its docs advise for throughput (10 jobs in
// flight, a local queue of 100, completions written at once), on the
// PostgreSQL database DATABASE_URL: the peer AOL's benchmark suite measures
// itself against (benches/suite/peer.rs). Prints one JSON object:
//   single_per_s  addJob, one job per call, CLIENTS callers at once
//   batch_per_s   addJobs, BATCH jobs per call, CLIENTS callers at once
//   drain_per_s   no-op jobs done per second, JOBS queued, each round
import { Logger, makeWorkerUtils, run } from "graphile-worker";

// Silent: writing a line per job would be a cost AOL's side does not pay (its daemon logs at warn in the suite).
const logger = new Logger(() => () => {});

const url = process.env.DATABASE_URL;
const JOBS = Number(process.env.JOBS ?? 20000);
const SINGLES = Number(process.env.SINGLES ?? 4000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const BATCH = 100;

const utils = await makeWorkerUtils({ connectionString: url, logger });
await utils.migrate();
const count = async () =>
  Number((await utils.withPgClient((c) => c.query("SELECT count(*) AS n FROM graphile_worker._private_jobs"))).rows[0].n);
const clear = () => utils.withPgClient((c) => c.query("DELETE FROM graphile_worker._private_jobs"));

/// `calls` calls of `call(i)` spread over CLIENTS callers; calls per second.
async function rate(calls, call) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < calls) await call(next++);
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

const out = { single_per_s: [], batch_per_s: [], drain_per_s: [] };
for (let round = 0; round < ROUNDS; round++) {
  await clear();
  out.single_per_s.push(await rate(SINGLES, (i) => utils.addJob("noop", { i })));
  await clear();
  const calls = Math.ceil(SINGLES / BATCH) * 5;
  const perCall = await rate(calls, (c) =>
    utils.addJobs(Array.from({ length: BATCH }, (_, i) => ({ identifier: "noop", payload: { c, i } }))),
  );
  out.batch_per_s.push(perCall * BATCH);
  await clear();
  for (let i = 0; i < JOBS; i += 1000) {
    await utils.addJobs(Array.from({ length: Math.min(1000, JOBS - i) }, (_, j) => ({ identifier: "noop", payload: { j } })));
  }
  const started = performance.now();
  const runner = await run({
    connectionString: url,
    concurrency: 10,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: { noop: async () => {} },
    preset: { worker: { localQueue: { size: 100 }, completeJobBatchDelay: 0 } },
    logger,
  });
  while ((await count()) > 0) await new Promise((r) => setTimeout(r, 5));
  out.drain_per_s.push(JOBS / ((performance.now() - started) / 1000));
  await runner.stop();
}
await utils.release();
console.log(JSON.stringify(out));
