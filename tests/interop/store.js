'use strict'
// The evtstore side of the interop tests: the README's "user" aggregate on a
// SQLite file through evtstore's knex provider (client better-sqlite3).
const knex = require('knex')
const { createAggregate, createCommands, createDomain, CommandError } = require('evtstore')
const { createProvider, migrate } = require('evtstore/provider/knex')

const EVENTS = process.env.EVT_EVENTS_TABLE || 'events'
const BOOKMARKS = process.env.EVT_BOOKMARKS_TABLE || 'bookmarks'

function open(file) {
  const db = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true })
  const provider = createProvider({
    events: () => db.table(EVENTS),
    bookmarks: () => db.table(BOOKMARKS),
  })
  return { db, provider, migrate: () => migrate({ client: db, events: EVENTS, bookmarks: BOOKMARKS }) }
}

function userAggregate(stream) {
  return createAggregate({
    stream,
    create: () => ({ name: '', enabled: false }),
    fold: (evt) => {
      switch (evt.type) {
        case 'created':
          return { name: evt.name, enabled: true }
        case 'disabled':
          return { enabled: false }
        case 'enabled':
          return { enabled: true }
      }
    },
  })
}

function userDomain(provider, stream = 'users') {
  const { domain } = createDomain({ provider }, { user: userAggregate(stream) })
  const commands = createCommands(domain.user, {
    async create(cmd, agg) {
      if (agg.version) throw new CommandError('user already exists')
      return { type: 'created', name: cmd.name }
    },
    async disable(cmd, agg) {
      if (!agg.version) throw new CommandError('no such user')
      if (agg.enabled) return { type: 'disabled' }
    },
    async enable(cmd, agg) {
      if (!agg.version) throw new CommandError('no such user')
      if (!agg.enabled) return { type: 'enabled' }
    },
  })
  return { domain, commands }
}

// Runs fn(args) and prints its result as one JSON line (as NDJSON, one line
// per element, when it says so), then exits with its status.
function main(usage, argc, fn) {
  const args = process.argv.slice(2)
  const name = require('path').basename(process.argv[1])
  if (args.length < argc[0] || args.length > argc[1]) {
    console.error(`usage: ${name} ${usage}`)
    process.exit(2)
  }
  Promise.resolve()
    .then(() => fn(args))
    .then(
      ({ result, ndjson, status = 0, db }) => {
        for (const r of ndjson ? result : [result]) process.stdout.write(JSON.stringify(r) + '\n')
        return Promise.resolve(db && db.destroy()).then(() => process.exit(status))
      },
      (err) => {
        console.error(`${name}: ${err.message}`)
        process.exit(1)
      }
    )
}

module.exports = { open, userDomain, main }
