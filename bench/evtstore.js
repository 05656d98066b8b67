// evtstore's SQLite provider (evtstore/provider/knex on better-sqlite3) on the
// workloads of bench/run.sh, for the "evtstore" column of `make bench`.
//
//   node bench/evtstore.js append  DB N BATCH    N events to bench/a1, BATCH per append
//   node bench/evtstore.js records DB N AGGS     N events over AGGS aggregates in
//                                                round-robin order, one append each
//   node bench/evtstore.js single  DB N          N one-event appends in one process
//   node bench/evtstore.js one     DB           one one-event append, then exit
//   node bench/evtstore.js read    DB LIMIT      every event via getEventsFrom, LIMIT a page
//   node bench/evtstore.js fold    DB            getAggregate of bench/a1
//
// Each mode prints one line of JSON: {"events":..,"seconds":..} and, for
// single, the median and 90th percentile of the milliseconds per append. Timing starts after the modules are
// loaded and the store is open. The modules come from the pinned install in
// tests/interop/node_modules (EVTSTORE_DIR names another directory that has
// a node_modules).
//
// The connection is set up as evt's: WAL and synchronous=FULL, so both write
// durable commits. Appends go through the provider exactly as evtstore's
// createCommands does: provider.createEvents, then provider.append.
'use strict'

const path = require('path')
const { createRequire } = require('module')

const dir = process.env.EVTSTORE_DIR || path.join(__dirname, '..', 'tests', 'interop')
const req = createRequire(path.join(path.resolve(dir), 'package.json'))
const knexFactory = req('knex')
const { createProvider, migrate } = req('evtstore/provider/knex')
const { createProvidedAggregate } = req('evtstore')

const [mode, file, arg1, arg2] = process.argv.slice(2)
if (!mode || !file) {
  process.stderr.write('usage: evtstore.js append|records|single|one|read|fold DB ...\n')
  process.exit(2)
}

function num(s, dflt) {
  if (s === undefined) return dflt
  const n = Number(s)
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`evtstore.js: bad number '${s}'\n`)
    process.exit(2)
  }
  return n
}

function now() {
  return Number(process.hrtime.bigint()) / 1e9
}

const client = knexFactory({
  client: 'better-sqlite3',
  connection: { filename: file },
  useNullAsDefault: true,
  pool: {
    afterCreate(conn, done) {
      conn.pragma('journal_mode = WAL')
      conn.pragma('synchronous = FULL')
      conn.pragma('busy_timeout = 5000')
      done(null, conn)
    },
  },
})

const provider = createProvider({
  limit: 1000,
  events: () => client.table('events'),
  bookmarks: () => client.table('bookmarks'),
})

async function append(stream, id, version, events) {
  const stored = provider.createEvents(stream, id, version, events)
  await provider.append(stream, id, version, stored)
}

const modes = {
  // N events to one aggregate, BATCH events per append (one transaction each).
  async append() {
    const n = num(arg1, 1000000)
    const batch = num(arg2, 500) || 1
    const t0 = now()
    for (let v = 1; v <= n; v += batch) {
      const events = []
      for (let i = v; i < v + batch && i <= n; i++) events.push({ type: 'incremented', n: i })
      await append('bench', 'a1', v, events)
    }
    return { events: n, seconds: now() - t0 }
  },

  // A copy of an interleaved store: record i goes to aggregate a(i % AGGS + 1).
  // The provider appends to one aggregate at a time, so each record is an append.
  async records() {
    const n = num(arg1, 10000)
    const aggs = num(arg2, 1000) || 1
    const version = new Array(aggs).fill(0)
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const a = i % aggs
      version[a]++
      await append('bench', `a${a + 1}`, version[a], [{ type: 'incremented', n: i + 1 }])
    }
    return { events: n, seconds: now() - t0 }
  },

  async single() {
    const n = num(arg1, 1000)
    const ms = []
    const t0 = now()
    for (let i = 1; i <= n; i++) {
      const s = now()
      await append('s', 'a1', i, [{ type: 'x' }])
      ms.push((now() - s) * 1000)
    }
    ms.sort((a, b) => a - b)
    const rank = (p) => ms[Math.max(0, Math.ceil(p * n) - 1)]
    return { events: n, seconds: now() - t0, median: rank(0.5), p90: rank(0.9) }
  },

  // What one shell invocation of a node program would do: find the
  // aggregate's version, append one event.
  async one() {
    const t0 = now()
    const last = await provider.getLastEventFor('s', 'a1')
    await append('s', 'a1', last ? last.version + 1 : 1, [{ type: 'x' }])
    return { events: 1, seconds: now() - t0 }
  },

  // As an event handler reads: pages of LIMIT events after a position.
  async read() {
    const limit = num(arg1, 1000) || 1000
    let position = 0
    let count = 0
    const t0 = now()
    for (;;) {
      const events = await provider.getEventsFrom('bench', position, limit)
      if (events.length === 0) break
      count += events.length
      position = events[events.length - 1].position
    }
    return { events: count, seconds: now() - t0 }
  },

  async fold() {
    const agg = createProvidedAggregate({
      stream: 'bench',
      aggregate: () => ({ n: 0 }),
      fold: (ev) => ({ n: ev.n }),
      provider,
    })
    const t0 = now()
    const result = await agg.getAggregate('a1')
    return { events: result.version, seconds: now() - t0 }
  },
}

async function main() {
  if (!modes[mode]) {
    process.stderr.write(`evtstore.js: unknown mode '${mode}'\n`)
    process.exit(2)
  }
  if (mode !== 'read' && mode !== 'fold') {
    await migrate({ client, events: 'events', bookmarks: 'bookmarks' })
  }
  const result = await modes[mode]()
  await client.destroy()
  process.stdout.write(JSON.stringify(result) + '\n')
}

main().catch((err) => {
  const msg = String(err && err.message ? err.message : err)
  // knex puts the whole statement in its messages: keep the reason
  const short = msg.length > 300 ? `${msg.slice(0, 100)} ... ${msg.slice(-100)}` : msg
  process.stderr.write(`evtstore.js: ${short.replace(/\s+/g, ' ')}\n`)
  process.exit(1)
})
