'use strict'
// Prints the events table of FILE, read directly with better-sqlite3, as
// the NDJSON records evt-read should print for it: integer timestamps
// (milliseconds, as evtstore writes them) become ISO-8601, and the event is
// the stored text.
const Database = require('better-sqlite3')

const args = process.argv.slice(2)
const table = process.env.EVT_EVENTS_TABLE || 'events'
if (args.length !== 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) {
  console.error('usage: rows.js FILE')
  process.exit(2)
}
try {
  const db = new Database(args[0], { readonly: true, fileMustExist: true })
  for (const r of db.prepare(`SELECT * FROM "${table}" ORDER BY position`).all()) {
    const ts = typeof r.timestamp === 'number' ? new Date(r.timestamp).toISOString() : r.timestamp
    const head = JSON.stringify({
      position: r.position,
      stream: r.stream,
      aggregateId: r.aggregate_id,
      version: r.version,
      timestamp: ts,
    })
    process.stdout.write(`${head.slice(0, -1)},"event":${r.event}}\n`)
  }
} catch (err) {
  console.error(`rows.js: ${err.message}`)
  process.exit(1)
}
