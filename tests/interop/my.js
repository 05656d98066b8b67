'use strict'
// The evtstore side of the MariaDB/MySQL interop tests: evtstore's knex
// provider (knex client mysql2) on the database of URL, an evt URL
// (mysql://USER:PASSWORD@HOST:PORT/DB or mariadb://..., ?socket=PATH).
// Dates are sent and read as UTC (mysql2's timezone 'Z'), as evt reads a
// DATETIME.
//
//   my.js migrate URL                     evtstore's migrate
//   my.js command URL ID create|disable|enable [BODY]
//                                         a command of the README user
//                                         aggregate on users/ID; prints the
//                                         aggregate it returns
//   my.js append URL STREAM ID EXPECTED EVENT
//                                         provider.append as version
//                                         EXPECTED + 1; on a VersionError
//                                         prints the unique key, exit 3
//   my.js appends URL STREAM ID COUNT     COUNT provider.append calls, one
//                                         event each, on a new aggregate
//   my.js events URL STREAM ID            getEventsFor, one record a line
//   my.js aggregate URL STREAM ID         getAggregate
//   my.js handle URL NAME STREAM          an evtstore handler with the
//                                         bookmark NAME on STREAM, for the
//                                         user aggregate's event types, run
//                                         once: prints each event handled
//                                         as {position,stream,aggregateId,
//                                         version,event}
//   my.js rows URL                        the events table as evt-read
//                                         should print it
//   my.js sql URL SQL                     rows of one query, as JSON
//
// EVT_EVENTS_TABLE and EVT_BOOKMARKS_TABLE name the tables, as for evt.
const knex = require('knex')
const { VersionError, createHandler } = require('evtstore')
const { createProvider, migrate } = require('evtstore/provider/knex')
const { userDomain, main } = require('./store')

const EVENTS = process.env.EVT_EVENTS_TABLE || 'events'
const BOOKMARKS = process.env.EVT_BOOKMARKS_TABLE || 'bookmarks'

// evt's URL as mysql2's connection options.
function connection(url) {
  const u = new URL(url)
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new Error(`not a mysql:// or mariadb:// URL: ${url}`)
  }
  const c = {
    host: u.hostname || 'localhost',
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    timezone: 'Z',
    charset: 'utf8mb4',
  }
  if (u.port) c.port = Number(u.port)
  if (u.searchParams.has('socket')) c.socketPath = u.searchParams.get('socket')
  return c
}

function open(url) {
  const db = knex({
    client: 'mysql2',
    connection: connection(url),
    pool: { min: 0, max: 2 },
    // evtstore's append asks for .returning(), which MySQL has not: knex
    // warns of it on every append
    log: {
      warn: (m) => {
        if (!/^\.returning\(\) is not supported by mysql/.test(m)) console.warn(m)
      },
    },
  })
  const provider = createProvider({
    events: () => db.table(EVENTS),
    bookmarks: () => db.table(BOOKMARKS),
  })
  return { db, provider }
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
    await migrate({ client: store.db, events: EVENTS, bookmarks: BOOKMARKS })
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
      // MariaDB: for key 'NAME'; MySQL 8: for key 'TABLE.NAME'
      const m = /Duplicate entry .* for key '(?:[^'.]*\.)?([^']*)'/.exec(err.message)
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
  handle: [2, 2, async (store, [name, stream]) => {
    const handled = []
    const handler = createHandler({ bookmark: name, streams: [stream], provider: store.provider })
    for (const type of ['created', 'disabled', 'enabled']) {
      handler.handle(stream, type, (id, event, meta) => {
        handled.push({
          position: Number(meta.position),
          stream: meta.stream,
          aggregateId: id,
          version: meta.version,
          event,
        })
      })
    }
    await handler.runOnce()
    return { result: handled, ndjson: true }
  }],
  rows: [0, 0, async (store) => {
    const rows = await store.db.select().from(EVENTS).orderBy('position')
    return { raw: rows.map(record) }
  }],
  sql: [1, 1, async (store, [sql]) => {
    const [rows] = await store.db.raw(sql)
    return { result: rows }
  }],
}

const [what] = process.argv.slice(2)
const cmd = commands[what]
if (!cmd) {
  console.error('usage: my.js migrate|command|append|appends|events|aggregate|handle|rows|sql URL ...')
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
    await store.db.destroy()
    throw err
  }
})
