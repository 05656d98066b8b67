'use strict'
// The evtstore side of the PostgreSQL interop tests: evtstore's pg provider
// (npm pg) on the database of URL, an evt URL (its options, such as
// options=-csearch_path%3DSCHEMA, are sent to the server as evt sends them).
//
//   pg.js migrate URL                     evtstore's migrate
//   pg.js command URL ID create|disable|enable [BODY]
//                                         a command of the README user
//                                         aggregate on users/ID; prints the
//                                         aggregate it returns
//   pg.js append URL STREAM ID EXPECTED EVENT
//                                         provider.append as version
//                                         EXPECTED + 1; on a VersionError
//                                         prints the constraint, exit 3
//   pg.js appends URL STREAM ID COUNT     COUNT provider.append calls, one
//                                         event each, on a new aggregate
//   pg.js events URL STREAM ID            getEventsFor, one record a line
//   pg.js aggregate URL STREAM ID         getAggregate
//   pg.js rows URL                        the events table as evt-read
//                                         should print it
//   pg.js sql URL SQL                     rows of one query, as JSON
//
// EVT_EVENTS_TABLE and EVT_BOOKMARKS_TABLE name the tables, as for evt.
const { Pool } = require('pg')
const { VersionError } = require('evtstore')
const { createProvider, migrate } = require('evtstore/provider/pg')
const { userDomain, main } = require('./store')

const EVENTS = process.env.EVT_EVENTS_TABLE || 'events'
const BOOKMARKS = process.env.EVT_BOOKMARKS_TABLE || 'bookmarks'

function open(url) {
  const pool = new Pool({ connectionString: url, max: 2 })
  const provider = createProvider({ client: pool, events: EVENTS, bookmarks: BOOKMARKS })
  return { pool, provider, db: { destroy: () => pool.end() } }
}

// A stored record in evt's key order, with the event text as stored.
function record(r) {
  const head = JSON.stringify({
    position: Number(r.position),
    stream: r.stream,
    aggregateId: r.aggregate_id,
    version: r.version,
    timestamp: r.timestamp === null ? null : new Date(r.timestamp).toISOString(),
  })
  return `${head.slice(0, -1)},"event":${r.event}}`
}

const commands = {
  migrate: [0, 0, async (store) => {
    await migrate({ client: store.pool, events: EVENTS, bookmarks: BOOKMARKS })
    return { result: { migrated: true } }
  }],
  command: [2, 3, async (store, [id, command, body = '{}']) => {
    const { commands: cmds } = userDomain(store.provider)
    if (!cmds[command]) throw new Error(`unknown command '${command}'`)
    return { result: await cmds[command](id, JSON.parse(body)) }
  }],
  append: [4, 4, async (store, [stream, id, expected, event]) => {
    const { provider } = store
    const version = Number(expected) + 1
    if (!Number.isInteger(version)) throw new Error(`bad version '${expected}'`)
    const events = provider.createEvents(stream, id, version, [JSON.parse(event)])
    try {
      await provider.append(stream, id, version, events)
    } catch (err) {
      if (!(err instanceof VersionError)) throw err
      const m = /unique constraint "(.*)"/.exec(err.message)
      if (!m) throw err
      return { result: { versionError: m[1] }, status: 3 }
    }
    return { result: { version } }
  }],
  appends: [3, 3, async (store, [stream, id, count]) => {
    const { provider } = store
    for (let v = 1; v <= Number(count); v++) {
      const events = provider.createEvents(stream, id, v, [{ type: 'n', v }])
      await provider.append(stream, id, v, events)
    }
    return { result: { version: Number(count) } }
  }],
  events: [2, 2, async (store, [stream, id]) => {
    const events = await store.provider.getEventsFor(stream, id)
    return {
      ndjson: true,
      result: events.map((e) => ({
        position: Number(e.position),
        stream: e.stream,
        aggregateId: e.aggregateId,
        version: e.version,
        timestamp: new Date(e.timestamp).toISOString(),
        event: e.event,
      })),
    }
  }],
  aggregate: [2, 2, async (store, [stream, id]) => {
    const { domain } = userDomain(store.provider, stream)
    return { result: await domain.user.getAggregate(id) }
  }],
  rows: [0, 0, async (store) => {
    const table = EVENTS.split('.').map((p) => `"${p}"`).join('.')
    const res = await store.pool.query(`SELECT * FROM ${table} ORDER BY position`)
    return { raw: res.rows.map(record) }
  }],
  sql: [1, 1, async (store, [sql]) => {
    const res = await store.pool.query(sql)
    return { result: res.rows }
  }],
}

const [what, ...rest] = process.argv.slice(2)
const cmd = commands[what]
if (!cmd) {
  console.error('usage: pg.js migrate|command|append|appends|events|aggregate|rows|sql URL ...')
  process.exit(2)
}
process.argv.splice(2, 1)
main(`${what} URL ...`, [1 + cmd[0], 1 + cmd[1]], async ([url, ...args]) => {
  const store = open(url)
  try {
    const out = await cmd[2](store, args)
    if (out.raw) {
      for (const line of out.raw) process.stdout.write(line + '\n')
      return { result: [], ndjson: true, db: store.db, status: out.status }
    }
    return { ...out, db: store.db }
  } catch (err) {
    await store.pool.end()
    throw err
  }
})
